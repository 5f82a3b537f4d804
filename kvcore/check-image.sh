#!/bin/sh
# kvcore/check-image.sh IMGCHECK ELF IMG - fail unless the image is clean.
#
# The image must be self-contained and read-only: every property below is
# something a client could exploit (a call out of the image runs client
# code with the store open; a writable section would be shared state
# outside the store) or the module would refuse.
set -eu
imgcheck=$1 elf=$2 img=$3
fail() { echo "check-image: $elf: $*" >&2; exit 1; }

undef=$(nm -u "$elf")
[ -z "$undef" ] || fail "undefined symbols: $undef"

relocs=$(readelf -rW "$elf" | grep -v 'There are no relocations' || true)
[ -z "$relocs" ] || fail "relocations left: $relocs"

# Allocated sections: only .image, and it must not be writable. Empty
# .data/.bss output sections are dropped by ld, so any hit is real.
readelf -SW "$elf" | awk '
	/^ *\[ *[0-9]+\]/ {
		sub(/^ *\[ *[0-9]+\] */, "")
		name = $1; flags = $7; nonempty = ($5 !~ /^0+$/)
		if (flags ~ /A/ && nonempty && (name != ".image" || flags ~ /W/))
			{ print name " (" flags ")"; bad = 1 }
	}
	END { exit bad }' >/dev/null ||
	fail "writable or extra allocated sections: $(readelf -SW "$elf" |
		grep -E '\] \.(data|bss|got)' || true)"

# Program headers: no writable segment.
if readelf -lW "$elf" | awk '$1 == "LOAD" && $7 ~ /W/ { bad = 1 }
		END { exit !bad }'; then
	fail "writable LOAD segment"
fi

max=$((0x100000))
size=$(stat -c %s "$img")
[ "$size" -le "$max" ] || fail "image is $size bytes, over $max"

"$imgcheck" "$img" || fail "plmc_image_check rejected the image"
