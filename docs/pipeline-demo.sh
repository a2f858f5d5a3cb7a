#!/usr/bin/env bash
# End-to-end pipeline demo against `make run` (demo data seeded):
#
#   RELEASEMGR_TOKEN=$(.venv/bin/python manage.py issue_token deployer) bash docs/pipeline-demo.sh
#
# gate → strategy advice → deploy → node events → smoke test → succeeded → KPI samples,
# printing each answer. Run it from the repository root. It ships catalog-service 3.1.0 to dev
# (the README's "allowed" example). Re-running it is safe: the deployment and the events carry
# Idempotency-Keys, so the server answers with the first run's answers instead of doing it twice.
set -euo pipefail

export RELEASEMGR_URL="${RELEASEMGR_URL:-http://127.0.0.1:${PORT:-8000}}"
: "${RELEASEMGR_TOKEN:?Set RELEASEMGR_TOKEN: RELEASEMGR_TOKEN=\$(.venv/bin/python manage.py issue_token deployer) bash docs/pipeline-demo.sh}"
export RELEASEMGR_TOKEN
PY="${PYTHON:-.venv/bin/python}"
CLI=("$PY" -m releasemgr.cli)
SERVICE="${DEMO_SERVICE:-catalog-service}"
VERSION="${DEMO_VERSION:-3.1.0}"
ENVIRONMENT="${DEMO_ENVIRONMENT:-dev}"
RUN="${DEMO_RUN:-demo-run-1}"
COMMIT="3f9c2ab7e41d"
PIPELINE_URL="https://ci.example.com/catalog-service/pipelines/${RUN}"

step() { printf '\n== %s\n' "$*"; }

step "1. Gate: may ${SERVICE} ${VERSION} go to ${ENVIRONMENT} now?"
set +e
"${CLI[@]}" gate --service "$SERVICE" --version "$VERSION" --environment "$ENVIRONMENT"
gate_status=$?
set -e
if [ "$gate_status" -ne 0 ]; then
  echo "The gate did not allow it (exit ${gate_status}); stopping." >&2
  exit "$gate_status"
fi
RELEASE=$("${CLI[@]}" gate --json --service "$SERVICE" --version "$VERSION" --environment "$ENVIRONMENT" \
  | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["release"])')
echo "Release: ${RELEASE}"

step "2. Strategy advice for ${RELEASE} in ${ENVIRONMENT}"
"${CLI[@]}" advice --release "$RELEASE" --environment "$ENVIRONMENT"

step "3. Start the deployment (the gate is re-checked; Idempotency-Key ${RUN}-deploy)"
DEPLOYMENT=$("${CLI[@]}" deploy --release "$RELEASE" --environment "$ENVIRONMENT" \
  --pipeline-url "$PIPELINE_URL" --commit "$COMMIT" --idempotency-key "${RUN}-deploy")
echo "Deployment id: ${DEPLOYMENT}"

step "4. Node results"
for node in catalog-1 catalog-2; do
  "${CLI[@]}" event --deployment "$DEPLOYMENT" --type node --target "$node" --status ok \
    --message "${node} runs ${VERSION}" --idempotency-key "${RUN}-node-${node}"
done

step "5. Smoke test"
"${CLI[@]}" event --deployment "$DEPLOYMENT" --type smoke --target search-smoke --status ok \
  --message "search returns results in 180 ms" --idempotency-key "${RUN}-smoke"

step "6. Deployment succeeded"
"${CLI[@]}" event --deployment "$DEPLOYMENT" --type succeeded --message "all nodes healthy" \
  --idempotency-key "${RUN}-succeeded"

step "7. KPI samples after the deployment"
for sample in "http_5xx_rate 0.21 %" "p99_latency 205 ms"; do
  read -r kpi value unit <<<"$sample"
  if ! "${CLI[@]}" kpi --service "$SERVICE" --kpi "$kpi" --environment "$ENVIRONMENT" \
      --value "$value" --unit "$unit" --source pipeline-demo \
      --idempotency-key "${RUN}-kpi-${kpi}"; then
    echo "(KPI sample not recorded: see the answer above; the deployment itself is done.)"
  fi
done

step "Done"
echo "Deployment page: ${RELEASEMGR_URL}/deployments/${DEPLOYMENT}/"
