#!/bin/bash
# On-start lifecycle script of the platform's notebook instance, rendered by
# constructs/idle_notebook.py, which substitutes the configured idle time and
# the contents of autostop.py for the at-sign placeholders below.
#
# It installs a cron job that stops the instance after @IDLE_MINUTES@ idle
# minutes. Nothing is downloaded: the instance has no internet route, and the
# AWS CLI reaches SageMaker through the VPC's interface endpoint.
set -euo pipefail

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
*/5 * * * * root $PYTHON $AUTOSTOP_DIR/autostop.py --idle-minutes @IDLE_MINUTES@ >> /var/log/autostop.log 2>&1
CRON_EOF
chmod 0644 /etc/cron.d/autostop
