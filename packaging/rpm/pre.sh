# xdr %pre: the service user and group must exist before the files are
# installed, because /etc/xdr/xdr.toml belongs to group xdr.
getent group xdr >/dev/null || groupadd --system xdr
getent passwd xdr >/dev/null || useradd --system --gid xdr --home-dir /var/lib/xdr \
	--no-create-home --shell /usr/sbin/nologin --comment "Mini-XDR service" xdr
exit 0
