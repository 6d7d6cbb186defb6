// Typed public IDs: prefix, 26 Crockford base32 characters from the crypto random source.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type IdPrefix, isId, newId } from "../../src/domain/ids.ts";

const PREFIXES: readonly IdPrefix[] = ["acc", "usr", "con", "bnd", "evt"];

describe("newId", () => {
  it("is the prefix, an underscore and 26 lower-case Crockford base32 characters", () => {
    for (const prefix of PREFIXES) {
      assert.match(newId(prefix), new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`));
    }
  });

  it("never repeats and uses the whole alphabet", () => {
    const ids = Array.from({ length: 2000 }, () => newId("evt"));
    assert.equal(new Set(ids).size, ids.length);
    const seen = new Set(ids.flatMap((id) => [...id.slice(4)]));
    assert.equal(seen.size, 32);
  });
});

describe("isId", () => {
  it("accepts an ID of its own kind only", () => {
    const id = newId("usr");
    assert.equal(isId("usr", id), true);
    assert.equal(isId("acc", id), false);
  });

  it("refuses wrong lengths, letters outside the alphabet, upper case and padding", () => {
    const body = "0123456789abcdefghjkmnpqrs";
    assert.equal(isId("acc", `acc_${body}`), true);
    assert.equal(isId("acc", `acc_${body.slice(1)}`), false);
    assert.equal(isId("acc", `acc_${body}0`), false);
    assert.equal(isId("acc", `acc_${body.slice(1)}u`), false);
    assert.equal(isId("acc", `acc_${body.slice(1)}i`), false);
    assert.equal(isId("acc", `ACC_${body}`), false);
    assert.equal(isId("acc", `acc_${body.toUpperCase()}`), false);
    assert.equal(isId("acc", ` acc_${body}`), false);
    assert.equal(isId("acc", `acc_${body}\n`), false);
  });
});
