# mcpctl-haproxy:local - a stand-in for the official haproxy image (nothing can be pulled here),
# built from Debian 12's haproxy package (2.6.x) on the local bookworm image.
#   docker build -f scripts/images/haproxy.Dockerfile -t mcpctl-haproxy:local scripts/images
#   podman build --format docker -f scripts/images/haproxy.Dockerfile -t mcpctl-haproxy:local scripts/images
# Like the official image: runs as user haproxy, config path given with -f at run time
# (official image: /usr/local/etc/haproxy/haproxy.cfg; we mount ours at the same path).
ARG BASE_IMAGE=mcpctl-python:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update && \
    apt-get install -y --no-install-recommends haproxy socat && \
    rm -rf /var/lib/apt/lists/* && \
    mkdir -p /usr/local/etc/haproxy /var/run/haproxy && \
    chown haproxy:haproxy /var/run/haproxy
# The official image's entrypoint runs "haproxy -W -db -f CFG"; same here (master-worker, foreground).
USER haproxy
STOPSIGNAL SIGUSR1
ENTRYPOINT ["haproxy", "-W", "-db"]
CMD ["-f", "/usr/local/etc/haproxy/haproxy.cfg"]
