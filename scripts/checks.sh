#!/usr/bin/env bash
# The static checks of `npm test`, run side by side (each prints its output once it is done):
#   typecheck  tsc over src, test, bench, plugins (tsconfig.json)
#   eslint     lint rules, import cycles
#   prettier   formatting
# Exits non-zero when any of them fails, naming which.
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
npx tsc -p tsconfig.json >"$dir/typecheck" 2>&1 &
typecheck=$!
npx eslint . >"$dir/eslint" 2>&1 &
eslint=$!
npx prettier --check . >"$dir/prettier" 2>&1 &
prettier=$!
failed=()
for check in typecheck eslint prettier; do
  if ! wait "${!check}"; then failed+=("$check"); fi
  echo "== $check"
  cat "$dir/$check"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "checks passed: typecheck, eslint, prettier"
