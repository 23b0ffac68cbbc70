# xdr %postun: what %systemd_postun_with_restart does: restart a running
# service after an upgrade. Erasing keeps /var/lib/xdr (RPM has no purge;
# see docs/operations.md).
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart xdr.service >/dev/null 2>&1 || :
	fi
fi
exit 0
