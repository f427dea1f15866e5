# syntax=docker/dockerfile:1
# Tessera's container image (infra/README.md): `docker build -t tessera .` from the
# repository's root. Two stages: the Swift toolchain builds a release `tessera` with the Swift
# runtime linked in (--static-swift-stdlib), then a slim Debian carries only that binary, its
# migrations (the resource bundle Bundle.module reads beside the binary), the CA bundles it
# verifies RDS and ElastiCache with, and curl for the health check. Runs as a non-root user;
# `tessera serve` by default, any other `tessera` command by passing it (the migrate task
# passes `migrate`).

# ---- build ------------------------------------------------------------------------------
# The toolchain the project builds with (Swift 6.3), on the runtime's Debian release.
FROM swift:6.3-bookworm AS build
WORKDIR /build

# Dependencies first, so that a change of the sources reuses this layer. Package.resolved
# is not versioned here; the glob copies it when a checkout has one, and resolves anew if not.
COPY Package.swift Package.resolved* ./
RUN swift package resolve

# The manifest names the test targets too, so their folders must exist for it to load.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product tessera --static-swift-stdlib \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir -p /staging/bin \
    && cp "$bin/tessera" /staging/bin/ \
    && cp -R "$bin/Tessera_TesseraStore.resources" /staging/bin/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/bin/

# ---- runtime ----------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: the system CAs, which trust RDS Proxy's and ElastiCache's certificates
# (Amazon's public roots); curl: the health check. libstdc++, zlib and libc are in the base.
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 tessera \
    && useradd --system --uid 10001 --gid tessera --home-dir /var/lib/tessera --shell /usr/sbin/nologin tessera \
    && mkdir -p /var/lib/tessera \
    && chown tessera:tessera /var/lib/tessera

COPY --from=build /staging/bin /opt/tessera/bin

# RDS signs its instances' certificates with its own CAs, which no system bundle holds:
# replicas and the key vault are verified against this bundle (sslrootcert in their URLs,
# infra/terraform/modules/tessera/secrets.tf).
RUN curl -fsSL --retry 3 -o /opt/tessera/rds-global-bundle.pem \
        https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \
    && grep -q 'BEGIN CERTIFICATE' /opt/tessera/rds-global-bundle.pem \
    && chmod 0644 /opt/tessera/rds-global-bundle.pem

# Listen on the container's interface (the default, 127.0.0.1, is unreachable from outside
# it); keep the embedded-cluster folder somewhere the user may write; crash backtraces with
# the static backtracer.
ENV TESSERA_HOST=0.0.0.0 \
    TESSERA_PORT=8080 \
    TESSERA_DIR=/var/lib/tessera \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/opt/tessera/bin/swift-backtrace-static

USER tessera:tessera
WORKDIR /var/lib/tessera
EXPOSE 8080

# /healthz answers 200 while the process is up (README: HTTP API).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${TESSERA_PORT}/healthz" >/dev/null || exit 1

ENTRYPOINT ["/opt/tessera/bin/tessera"]
CMD ["serve"]
