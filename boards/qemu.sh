#!/usr/bin/env bash
# Runs one firmware ELF on the matching emulated board and decodes its defmt output.
#
#   qemu.sh <elf>
#
# The board is chosen from the target directory in the ELF's path:
#   thumbv7em-none-eabihf     -> mps2-an386 (Cortex-M4F)
#   thumbv8m.main-none-eabihf -> mps3-an547 (Cortex-M55 with Helium)
# QEMU runs with `-icount shift=$ICOUNT_SHIFT` (default 10: 1024 ns of virtual time per instruction) so that the
# firmware's SysTick-based instruction counts are exact, under `timeout $QEMU_TIMEOUT` seconds (default 120).
# The exit status is QEMU's, i.e. the firmware's semihosting exit status (124 on timeout).
# Also usable as a cargo runner (see .cargo/config.toml).
set -euo pipefail

elf="${1:?usage: qemu.sh <elf>}"
case "$elf" in
  *thumbv7em-none-eabihf*) cpu=cortex-m4; machine=mps2-an386 ;;
  *thumbv8m.main-none-eabihf*) cpu=cortex-m55; machine=mps3-an547 ;;
  *) echo "qemu.sh: cannot tell the board from the path $elf" >&2; exit 2 ;;
esac

defmt_print="$(command -v defmt-print || true)"
if [ -z "$defmt_print" ] && [ -x "$HOME/.cargo/bin/defmt-print" ]; then
  defmt_print="$HOME/.cargo/bin/defmt-print"
fi
if [ -z "$defmt_print" ]; then
  echo "qemu.sh: defmt-print not found (cargo install defmt-print --locked)" >&2
  exit 2
fi

echo "qemu.sh: $machine ($cpu), $elf" >&2
set +e
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm \
  -cpu "$cpu" -machine "$machine" -nographic \
  -semihosting-config enable=on,target=native \
  -icount shift="${ICOUNT_SHIFT:-10}" \
  -kernel "$elf" \
  | "$defmt_print" -e "$elf" --log-format '{s}'
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[0]}" -eq 124 ]; then
  echo "qemu.sh: timed out" >&2
fi
if [ "${status[1]}" -ne 0 ]; then
  echo "qemu.sh: defmt-print exited with ${status[1]}" >&2
fi
exit "${status[0]}"
