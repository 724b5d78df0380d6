#!/bin/bash
# On-start lifecycle script of the platform's notebook instance, rendered by
# constructs/idle_notebook.py, which substitutes the configured idle time and
# the contents of autostop.py for the at-sign placeholders below.
#
# It installs a cron job that stops the instance after @IDLE_MINUTES@ idle
# minutes. Nothing is downloaded: the instance has no internet route, and the
# AWS CLI reaches SageMaker through the VPC's interface endpoint.
#
# With a workspace URI, the user's files come back from S3 (through the
# gateway endpoint) before Jupyter is used, and go to S3 every 5 minutes and
# before an idle stop. Copies never delete: the bucket is versioned, and a
# failed restore must not wipe what S3 holds.
set -euo pipefail

WORKSPACE_URI="@WORKSPACE_URI@"
HOME_DIR=/home/ec2-user/SageMaker
AWS=$(command -v aws || true)
SYNC_UP=""
if [ -n "$WORKSPACE_URI" ] && [ -n "$AWS" ]; then
  sudo -u ec2-user "$AWS" s3 sync "$WORKSPACE_URI" "$HOME_DIR/" --only-show-errors \
    || echo "workspace: restore from $WORKSPACE_URI failed; files stay in S3" >&2
  SYNC_UP="$AWS s3 sync $HOME_DIR/ $WORKSPACE_URI --only-show-errors --exclude '*/.ipynb_checkpoints/*'"
fi

AUTOSTOP_DIR=/usr/local/lib/autostop
install -d -m 0755 "$AUTOSTOP_DIR"
cat > "$AUTOSTOP_DIR/autostop.py" <<'AUTOSTOP_PY_EOF'
@AUTOSTOP_PY@
AUTOSTOP_PY_EOF
chmod 0755 "$AUTOSTOP_DIR/autostop.py"

# Root owns the job (lifecycle scripts run as root, users have no root
# access), so a notebook user cannot remove or edit it.
PYTHON=$(command -v python3)
cat > /etc/cron.d/autostop <<CRON_EOF
*/5 * * * * root $PYTHON $AUTOSTOP_DIR/autostop.py --idle-minutes @IDLE_MINUTES@ --before-stop "$SYNC_UP" >> /var/log/autostop.log 2>&1
CRON_EOF
if [ -n "$SYNC_UP" ]; then
  echo "*/5 * * * * ec2-user $SYNC_UP >> /tmp/workspace-sync.log 2>&1" > /etc/cron.d/workspace-sync
  chmod 0644 /etc/cron.d/workspace-sync
fi
chmod 0644 /etc/cron.d/autostop

# pip's index (with a package mirror configured): the platform's CodeArtifact
# repository, which fetches from PyPI on first use. The notebook user's
# pip.conf is written now and renewed every 6 hours (tokens last 12).
PACKAGE_INDEX="@PACKAGE_INDEX@"
if [ -n "$PACKAGE_INDEX" ] && [ -n "$AWS" ]; then
  cat > "$AUTOSTOP_DIR/pip-index.sh" <<'PIP_INDEX_EOF'
@PIP_INDEX_SH@
PIP_INDEX_EOF
  chmod 0755 "$AUTOSTOP_DIR/pip-index.sh"
  PIP_INDEX="$AUTOSTOP_DIR/pip-index.sh $AWS $PACKAGE_INDEX /home/ec2-user/.config/pip/pip.conf"
  sudo -u ec2-user $PIP_INDEX || echo "packages: no CodeArtifact token yet; pip gets its index at the next renewal" >&2
  echo "0 */6 * * * ec2-user $PIP_INDEX >> /tmp/pip-index.log 2>&1" > /etc/cron.d/pip-index
  chmod 0644 /etc/cron.d/pip-index
fi
