/**
 * Where the control API listens: `--listen HOST:PORT` (loopback only: 127.0.0.0/8, ::1,
 * localhost) or `--socket PATH` (a unix socket, mode 0600). Anything else is refused with one
 * line naming the flag, the value and what was expected: the API can pause, drain and enqueue,
 * so it is reachable from another machine only when `--listen-public` says so explicitly (every
 * route but /healthz and /metrics then still needs the bearer token, as on loopback).
 */
import { isIP } from "node:net";
import path from "node:path";
import { UsageError } from "../errors.ts";

export type ListenAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export const DEFAULT_LISTEN = "127.0.0.1:0";

export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^(0{0,4}:){7}0{0,3}1$/.test(host);
  return false;
}

/** Parses `--listen` ("127.0.0.1:8080", "[::1]:8080", "localhost:0", or a bare port). */
export function parseListen(value: string, listenPublic = false): ListenAddress {
  const v = value.trim();
  let host = "127.0.0.1";
  let portText = v;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
  } else if (v.includes(":")) {
    const at = v.lastIndexOf(":");
    host = v.slice(0, at);
    portText = v.slice(at + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(`--listen "${value}": expected HOST:PORT with a port from 0 to 65535 (e.g. 127.0.0.1:7878)`);
  }
  if (!listenPublic && !isLoopbackHost(host)) {
    throw new UsageError(
      `--listen "${value}": refusing to bind ${host}, which is not a loopback address; the control API only listens on ` +
        "127.0.0.1, ::1 or localhost (or a unix socket with --socket PATH) unless --listen-public is given",
    );
  }
  if (listenPublic && host !== "localhost" && isIP(host) === 0) {
    throw new UsageError(`--listen "${value}": with --listen-public, expected an IP address to bind (e.g. 0.0.0.0:7878 or [::]:7878)`);
  }
  return { kind: "tcp", host: host === "localhost" ? "127.0.0.1" : host, port };
}

export function resolveListen(opts: { listen?: string; socket?: string; listenPublic?: boolean }, cwd: string): ListenAddress {
  if (opts.listen !== undefined && opts.socket !== undefined) {
    throw new UsageError("--listen and --socket: give one of them, not both");
  }
  if (opts.listenPublic && opts.listen === undefined) {
    throw new UsageError("--listen-public: expected --listen HOST:PORT too (the address beyond loopback to bind)");
  }
  if (opts.socket !== undefined) {
    if (opts.socket.trim() === "") throw new UsageError("--socket: expected a file path for the unix socket");
    return { kind: "unix", path: path.resolve(cwd, opts.socket) };
  }
  return parseListen(opts.listen ?? DEFAULT_LISTEN, opts.listenPublic === true);
}

/** The address as other processes reach it: `http://127.0.0.1:PORT` or `unix:/path/to.sock`. */
export function controlUrl(addr: ListenAddress): string {
  if (addr.kind === "unix") return `unix:${addr.path}`;
  return `http://${addr.host.includes(":") ? `[${addr.host}]` : addr.host}:${addr.port}`;
}
