#!/bin/sh
# iasl_check.sh TEST_ACPI: dumps vmgate-vmm's ACPI tables for 1, 2 and 64
# vCPUs (TEST_ACPI --dump) and disassembles each with iasl -d (Debian's
# acpica-tools).  Fails on a non-zero exit, on any error, warning or
# checksum complaint in iasl's output or in the disassembly, and if the
# DSDT does not show _S5 and QEMU0001 or the MADT not the expected CPUs.
# Then acpiexec (same package; ACPICA's interpreter, the one Linux runs)
# loads FADT, DSDT and MADT and evaluates \_S5 and the devices' objects.
# The RSDP is left to the unit test: iasl does not load one from a file
# ("Loading an RSDP is not supported", acfileio.c).
set -u
dumper=$1
for tool in iasl acpiexec; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "iasl_check: $tool not found: install acpica-tools (tools/setup-deps.sh)" >&2
		exit 1
	fi
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
for n in 1 2 64; do
	mkdir "$dir/$n"
	if ! "$dumper" --dump "$dir/$n" "$n" >/dev/null; then
		echo "iasl_check: dumping the tables for $n CPUs failed" >&2
		exit 1
	fi
	for t in xsdt facp dsdt apic; do
		out=$(cd "$dir/$n" && iasl -d "$t.dat" 2>&1)
		rc=$?
		dsl="$dir/$n/$t.dsl"
		if [ $rc -ne 0 ] || [ ! -s "$dsl" ]; then
			echo "iasl_check: iasl -d $t.dat ($n CPUs) failed ($rc):" >&2
			echo "$out" >&2
			fail=1
			continue
		fi
		if printf '%s\n' "$out" | grep -Eiq 'error|warning|invalid|incorrect' ||
		   grep -Eiq '^[^;]*\*\*\*\*|error|warning|invalid|incorrect|should be' "$dsl"; then
			echo "iasl_check: iasl complains about $t ($n CPUs):" >&2
			echo "$out" >&2
			grep -Ein '\*\*\*\*|error|warning|invalid|incorrect|should be' "$dsl" >&2
			fail=1
		fi
	done
	dsdt="$dir/$n/dsdt.dsl"
	for want in '_S5' 'QEMU0001' 'PNP0501' 'PNP0303' 'PNP0F13'; do
		if ! grep -q "$want" "$dsdt"; then
			echo "iasl_check: DSDT ($n CPUs) has no $want" >&2
			fail=1
		fi
	done
	cpus=$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$dir/$n/apic.dsl")
	if [ "$cpus" -ne "$n" ]; then
		echo "iasl_check: MADT for $n CPUs lists $cpus local APICs" >&2
		fail=1
	fi
	out=$(cd "$dir/$n" && timeout 60 acpiexec -b \
		'evaluate \_S5_; evaluate \_SB.PEVT._HID; evaluate \_SB.PEVT._CRS; evaluate \_SB.COM1._CRS; evaluate \_SB.KBD_._CRS; evaluate \_SB.MOU_._CRS' \
		facp.dat dsdt.dat apic.dat 2>&1)
	rc=$?
	s5=$(printf '%s\n' "$out" | sed -n '/Evaluating \\_S5_/,/Evaluating/p' | grep -m1 '\[Integer\]')
	if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -Eiq 'error|warning|AE_' ||
	   ! printf '%s\n' "$s5" | grep -q '= 0000000000000005' ||
	   ! printf '%s\n' "$out" | grep -q '"QEMU0001"' ||
	   ! printf '%s\n' "$out" | grep -q '47 01 05 05 05 05 01 01 79 00' ||
	   ! printf '%s\n' "$out" | grep -q '47 01 F8 03 F8 03 01 08 22 10 00 79 00' ||
	   ! printf '%s\n' "$out" | grep -q '47 01 60 00 60 00 01 01 47 01 64 00 64 00 01 01' ||
	   ! printf '%s\n' "$out" | grep -q '22 00 10 79 00'; then
		echo "iasl_check: acpiexec ($n CPUs, exit $rc) did not evaluate the DSDT as expected:" >&2
		printf '%s\n' "$out" >&2
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "iasl_check: tables for 1, 2 and 64 CPUs disassemble cleanly"
exit $fail
