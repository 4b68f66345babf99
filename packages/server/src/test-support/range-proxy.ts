import { createConnection, createServer, type Server, type Socket } from "node:net";
import { BerReader, BerWriter } from "ldapts";

/**
 * A loopback LDAP relay in front of a real slapd that answers long `member` attributes as Active
 * Directory does (OpenLDAP cannot: `range=` is not an attribute option it knows): an entry with more
 * than `rangeSize` members carries `member;range=0-<rangeSize-1>` instead of `member`, and a search
 * that asks for `member;range=<n>-*` gets the next `rangeSize` values, the last ones as
 * `member;range=<n>-*`. Everything else passes through as it is. Plain LDAP only (no TLS).
 */

const SEARCH_REQUEST = 0x63;
const SEARCH_ENTRY = 0x64;
const RANGE = /^member;range=(\d+)-\*$/i;

/** The size of the BER element at `at`: its header (tag and length) and content; null while incomplete. */
function elementSize(buffer: Buffer, at: number): { header: number; length: number } | null {
  if (buffer.length < at + 2) return null;
  const first = buffer[at + 1]!;
  if (!(first & 0x80)) return { header: 2, length: first };
  const bytes = first & 0x7f;
  if (buffer.length < at + 2 + bytes) return null;
  let length = 0;
  for (let i = 0; i < bytes; i++) length = length * 256 + buffer[at + 2 + i]!;
  return { header: 2 + bytes, length };
}

/** Splits a byte stream into whole BER elements (LDAP messages). */
function framer(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const size = elementSize(pending, 0);
      if (!size || pending.length < size.header + size.length) return;
      onMessage(pending.subarray(0, size.header + size.length));
      pending = pending.subarray(size.header + size.length);
    }
  };
}

/**
 * A search request's attribute list read, and the request with another list (the rest copied as
 * it is: ldapts's parser does not read every filter back).
 */
function searchAttributes(message: Buffer): { id: number; attributes: string[]; withAttributes(list: string[]): Buffer } {
  const reader = new BerReader(message);
  reader.readSequence();
  const id = reader.readInt()!;
  reader.readSequence(SEARCH_REQUEST);
  const opStart = reader.offset;
  const opEnd = opStart + reader.length;
  reader.readString(); // base
  reader.readEnumeration(); // scope
  reader.readEnumeration(); // aliases
  reader.readInt(); // size limit
  reader.readInt(); // time limit
  reader.readBoolean(); // types only
  const filter = elementSize(message, reader.offset)!;
  const listStart = reader.offset + filter.header + filter.length;
  reader.offset = listStart;
  reader.readSequence(0x30);
  const attributes: string[] = [];
  while (reader.offset < opEnd) attributes.push(reader.readString()!);
  return {
    id,
    attributes,
    withAttributes(list) {
      const listWriter = new BerWriter();
      listWriter.startSequence(0x30);
      for (const a of list) listWriter.writeString(a);
      listWriter.endSequence();
      const writer = new BerWriter();
      writer.startSequence();
      writer.writeInt(id);
      writer.writeBuffer(Buffer.concat([message.subarray(opStart, listStart), listWriter.buffer]), SEARCH_REQUEST);
      // The controls (paged results …), as they were.
      if (opEnd < message.length) {
        const controls = elementSize(message, opEnd)!;
        writer.writeBuffer(message.subarray(opEnd + controls.header, opEnd + controls.header + controls.length), message[opEnd]!);
      }
      writer.endSequence();
      return writer.buffer;
    },
  };
}

export class RangeProxy {
  /** Searches that asked for a further range of members. */
  rangedReads = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  static async start(target: { host: string; port: number }, rangeSize: number): Promise<RangeProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const proxy = new RangeProxy(server, typeof address === "object" && address ? address.port : 0);
    server.on("connection", (client) => proxy.relay(client, target, rangeSize));
    return proxy;
  }

  private relay(client: Socket, target: { host: string; port: number }, rangeSize: number): void {
    const upstream = createConnection(target);
    this.sockets.add(client).add(upstream);
    /** The first member value each pending search asked for, by message id. */
    const asked = new Map<number, number>();
    client.on(
      "data",
      framer((message) => {
        const reader = new BerReader(message);
        reader.readSequence();
        reader.readInt();
        if (reader.peek() === SEARCH_REQUEST) {
          const request = searchAttributes(message);
          const start = request.attributes.map((a) => RANGE.exec(a)?.[1]).find((s) => s !== undefined);
          asked.set(request.id, Number(start ?? 0));
          if (start !== undefined) {
            this.rangedReads++;
            message = request.withAttributes(request.attributes.map((a) => (RANGE.test(a) ? "member" : a)));
          }
        }
        upstream.write(message);
      }),
    );
    upstream.on(
      "data",
      framer((message) => {
        const reader = new BerReader(message);
        reader.readSequence();
        const id = reader.readInt()!;
        client.write(reader.peek() === SEARCH_ENTRY ? ranged(message, id, asked.get(id) ?? 0, rangeSize) : message);
      }),
    );
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The entry with its `member` values cut to the range that starts at `start` (unchanged when it needs no range). */
function ranged(message: Buffer, id: number, start: number, size: number): Buffer {
  const reader = new BerReader(message);
  reader.readSequence();
  reader.readInt();
  reader.readSequence(SEARCH_ENTRY);
  const dn = reader.readString()!;
  reader.readSequence(0x30);
  const listEnd = reader.offset + reader.length;
  const others: Buffer[] = [];
  let members: Buffer[] | undefined;
  while (reader.offset < listEnd) {
    reader.readSequence(0x30);
    const end = reader.offset + reader.length;
    const content = message.subarray(reader.offset, end);
    const type = reader.readString()!;
    if (type.toLowerCase() === "member") {
      members = [];
      reader.readSequence(0x31);
      while (reader.offset < end) members.push(reader.readString(0x04, true)!);
    } else others.push(content);
    reader.offset = end;
  }
  if (!members || (start === 0 && members.length <= size)) return message;
  const last = start + size >= members.length;
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeInt(id);
  writer.startSequence(SEARCH_ENTRY);
  writer.writeString(dn);
  writer.startSequence(0x30);
  for (const content of others) writer.writeBuffer(content, 0x30);
  writer.startSequence(0x30);
  writer.writeString(`member;range=${start}-${last ? "*" : start + size - 1}`);
  writer.startSequence(0x31);
  for (const value of members.slice(start, start + size)) writer.writeBuffer(value, 0x04);
  writer.endSequence();
  writer.endSequence();
  writer.endSequence();
  writer.endSequence();
  writer.endSequence();
  return writer.buffer;
}
