import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { addressKey } from "./client-address.js";

describe("addressKey", () => {
  it("counts an IPv6 address by its /64, however it is written, and an IPv4 address whole", () => {
    assert.equal(addressKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:0DB8:0001:0002::1"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(addressKey("::1"), "0:0:0:0::/64");
    assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(addressKey("64:ff9b::192.0.2.1"), "64:ff9b:0:0::/64");
    assert.equal(addressKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(addressKey("::ffff:c000:201"), "192.0.2.1");
    assert.equal(addressKey("192.0.2.1"), "192.0.2.1");
    assert.equal(addressKey(""), "");
  });

  it("leaves out a port a proxy forwarded with the address: every connection of one client is that client", () => {
    assert.equal(addressKey("198.51.100.7:50001"), "198.51.100.7");
    assert.equal(addressKey("198.51.100.7:50002"), addressKey("198.51.100.7"));
    assert.equal(addressKey("[2001:db8::1]:443"), "2001:db8:0:0::/64");
    assert.equal(addressKey("[2001:db8::1]"), "2001:db8:0:0::/64");
    assert.equal(addressKey("[::ffff:192.0.2.1]:80"), "192.0.2.1");
    assert.equal(addressKey("999.1.1.1:80"), "999.1.1.1:80", "no address: as it is");
  });

  it("gives every address of one /64 the same key, and addresses of different /64s different keys", () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const address = fc.array(group, { minLength: 8, maxLength: 8 });
    // The written form RFC 5952 gives, or the full one: both name the same address.
    const written = (groups: number[], compressed: boolean) => {
      const full = groups.map((g) => g.toString(16)).join(":");
      return compressed ? new URL(`http://[${full}]/`).hostname.slice(1, -1) : full;
    };
    fc.assert(
      fc.property(address, address, fc.boolean(), fc.boolean(), (a, b, ca, cb) => {
        const sameNetwork = [...a.slice(0, 4), ...b.slice(4)];
        assert.equal(addressKey(written(a, ca)), addressKey(written(sameNetwork, cb)));
        if (a.slice(0, 4).join() !== b.slice(0, 4).join()) assert.notEqual(addressKey(written(a, ca)), addressKey(written(b, cb)));
      }),
    );
  });
});
