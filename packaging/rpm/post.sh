# xdr %post: the data dir, then what %systemd_post does: on first install
# the service follows the system's presets (not started).
if [ ! -d /var/lib/xdr ]; then
	install -d -m 0750 -o xdr -g xdr /var/lib/xdr
fi
if [ "$1" -eq 1 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload preset xdr.service >/dev/null 2>&1 || :
fi
exit 0
