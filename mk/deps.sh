#!/bin/sh
# Install the Debian packages listed in mk/packages/*.txt that are missing.
# Runs apt-get update once, and only when something is missing.
set -eu
here=$(dirname "$0")
missing=""
for pkg in $(grep -hv '^[[:space:]]*#' "$here"/packages/*.txt | tr -s ' \n' '\n' | sort -u); do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $pkg" ;;
    esac
done
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "run as root, or install them with: apt-get install$missing" >&2
    exit 1
fi
echo "installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
