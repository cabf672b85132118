#!/usr/bin/env python3
"""A TLS endpoint in front of a Docker Engine's unix socket, for the `docker` cloud's tests of
`tcp://` with TLS (scripts/docker-test-env.sh starts it): verifies client certificates against a
CA, as `dockerd --tlsverify` does, and forwards bytes both ways, keeping half-closed connections
open (a step's exec closes its stdin long before its output ends). Loopback only.

    docker-tls-proxy.py PORT CERT KEY CA UNIX-SOCKET
"""
import socket
import ssl
import sys
import threading


def pipe(src, dst, on_eof):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    on_eof()


def serve(conn, ctx, unix_path):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError) as e:
        print(f"handshake failed: {e}", file=sys.stderr, flush=True)
        conn.close()
        return
    engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    engine.connect(unix_path)

    def engine_eof():
        # close_notify first: a TLS client takes a bare close for a cut connection.
        try:
            tls.unwrap()
        except (OSError, ValueError):
            pass
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def client_eof():
        try:
            engine.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    back = threading.Thread(target=pipe, args=(engine, tls, engine_eof), daemon=True)
    back.start()
    pipe(tls, engine, client_eof)
    back.join()
    engine.close()


def main():
    port, cert, key, ca, unix_path = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", int(port)), reuse_port=False)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, ctx, unix_path), daemon=True).start()


if __name__ == "__main__":
    main()
