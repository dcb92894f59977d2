#!/usr/bin/env bash
# Builds the book (docs/ -> docs/book, git-ignored) and fails on any mdBook error, e.g. a
# missing {{#include}} file, or a link to a figure or source file that does not exist. Installs mdBook if it is not on PATH: `cargo install` of a pinned
# version (the only route that needs nothing but the Rust toolchain; Debian bookworm has no
# mdbook package). The binary goes to $MDBOOK_ROOT/bin (default ~/.cargo), so a CI cache of that
# folder makes later runs skip the compile.
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION="${MDBOOK_VERSION:-0.5.4}"
MDBOOK_ROOT="${MDBOOK_ROOT:-${CARGO_HOME:-$HOME/.cargo}}"
export PATH="$MDBOOK_ROOT/bin:$PATH"

if ! command -v mdbook >/dev/null 2>&1; then
  echo "== installing mdbook $MDBOOK_VERSION into $MDBOOK_ROOT (cargo install --locked)"
  cargo install mdbook --locked --version "$MDBOOK_VERSION" --root "$MDBOOK_ROOT"
fi
echo "== $(mdbook --version): mdbook build docs"
# mdBook logs a missing {{#include}} as ERROR but still exits 0: treat any ERROR as a failure.
log=$(mdbook build docs 2>&1) || { echo "$log" >&2; exit 1; }
echo "$log"
if grep -q "ERROR" <<<"$log"; then
  echo "mdbook reported errors (above)" >&2
  exit 1
fi

# Every figure and every source file a chapter links to must exist (mdBook checks includes, but
# neither images nor links that leave the book). Links are relative to docs/src.
missing=0
while IFS= read -r ref; do
  if [ ! -e "docs/src/$ref" ]; then
    echo "broken link in the book: $ref (relative to docs/src)" >&2
    missing=1
  fi
done < <(grep -ho '](\(figures/\|\.\./\)[^)#]*' docs/src/*.md | sed 's/^](//' | sort -u)
[ "$missing" = 0 ]
echo "== book built: docs/book/index.html"
