import assert from "node:assert/strict";
import { it } from "node:test";
import { KeyedQueue } from "./keyed-queue.js";

/** A piece of work the test ends when it chooses, noting when it started. */
function held(started: string[], name: string) {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return { work: () => (started.push(name), ended.then(() => name)), end };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

it("runs one key's work one at a time in the order it came, other keys' beside it", async () => {
  const queue = new KeyedQueue(8, 60_000);
  const started: string[] = [];
  const [a, b, other] = [held(started, "a"), held(started, "b"), held(started, "other")];
  const results = [queue.run("k", a.work), queue.run("k", b.work), queue.run("j", other.work)];
  await settle();
  assert.deepEqual(started, ["a", "other"], "b waits for a");
  a.end();
  await settle();
  assert.deepEqual(started, ["a", "other", "b"]);
  b.end();
  other.end();
  assert.deepEqual(await Promise.all(results), ["a", "b", "other"]);
  assert.equal(queue.size, 0, "an empty queue keeps nothing");
});

it("turns work away past maxWaiting behind the running one, and takes it again once there is room", async () => {
  const queue = new KeyedQueue(2, 60_000);
  const started: string[] = [];
  const works = ["a", "b", "c"].map((name) => held(started, name));
  const running = works.map((w) => queue.run("k", w.work));
  assert.equal(queue.run("k", held(started, "d").work), undefined, "one running and two waiting: a fourth is turned away");
  works[0]!.end();
  await running[0];
  assert.notEqual(queue.run("k", held(started, "e").work), undefined);
  for (const w of works) w.end();
});

it("a failure ahead does not stop the work behind it", async () => {
  const queue = new KeyedQueue(8, 60_000);
  const failed = queue.run("k", () => Promise.reject(new Error("refused")));
  const after = queue.run("k", async () => "ran");
  await assert.rejects(failed!, /refused/);
  assert.equal(await after, "ran");
});

it("waits no longer than maxWaitMs behind work that hangs", async () => {
  const queue = new KeyedQueue(8, 30);
  const started: string[] = [];
  const hung = held(started, "hung");
  void queue.run("k", hung.work);
  // The queue's timer does not keep a process alive (a server's sockets do): this test's does.
  const alive = setTimeout(() => {}, 10_000);
  assert.equal(await queue.run("k", async () => "went on"), "went on");
  clearTimeout(alive);
  hung.end();
});

it("counts finished work by key: the count moves when work under the key ends, not while it waits or runs", async () => {
  const queue = new KeyedQueue(8, 60_000);
  const started: string[] = [];
  const [a, b] = [held(started, "a"), held(started, "b")];
  const before = queue.finishedCount("k");
  const results = [queue.run("k", a.work), queue.run("k", b.work)];
  await settle();
  assert.equal(queue.finishedCount("k"), before, "running and waiting work is not finished");
  a.end();
  await results[0];
  await settle();
  assert.equal(queue.finishedCount("k"), before + 1);
  b.end();
  await results[1];
  await settle();
  assert.equal(queue.finishedCount("k"), before + 2);
  const failing = queue.run("k", () => Promise.reject(new Error("refused")))!;
  await assert.rejects(failing);
  await settle();
  assert.equal(queue.finishedCount("k"), before + 3, "work that failed finished too");
});
