import { isIPv4, isIPv6 } from "node:net";

/**
 * What limits count a client address by: an IPv4 address whole (also written as IPv4-mapped IPv6),
 * an IPv6 address by its /64 — the smallest network a subscriber is given, whose 2^64 addresses would
 * otherwise each start with a fresh count. Anything else (a socket without an address) as it is.
 * A port a proxy forwarded with the address is no part of the client: each connection would be another.
 */
export function addressKey(ip: string): string {
  const bare = withoutPort(ip);
  const address = bare.replace(/%.*$/, ""); // a zone (fe80::1%eth0) names an interface, not a network
  if (!isIPv6(address)) return bare;
  // Eight groups of 16 bits; "::" stands for as many zero groups as are missing, and a dotted IPv4
  // tail for the last two.
  const groupsOf = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (!isIPv4(g)) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split(".").map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = "", tail] = address.split("::");
  const front = groupsOf(head);
  const back = tail === undefined ? [] : groupsOf(tail);
  const groups = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  // IPv4-mapped (::ffff:0:0/96), however written: the IPv4 client it is.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** `198.51.100.7:50001` and `[2001:db8::1]:443`, as some proxies write X-Forwarded-For, without the port (and the brackets). */
function withoutPort(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(ip);
  return v4 && isIPv4(v4[1]!) ? v4[1]! : ip;
}
