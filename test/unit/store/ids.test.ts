import assert from 'node:assert/strict';
import { isId, newId } from '../../../schema/ids.js';

describe('ids: v7 UUIDs in creation order', () => {
  it('ids made in the same millisecond sort in the order they were made (lists "in creation order" used to shuffle them)', () => {
    const t = Date.now() + 1000;
    const ids = Array.from({ length: 4096 }, () => newId(t)); // all a millisecond's counter holds
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids.slice(0, 10)) assert.ok(isId(id) && id[14] === '7', id);
  });

  it('an id for another time in between does not break the order of ids made now', () => {
    const t = Date.now();
    newId(t + 6000); // e.g. a test or an agent with its own clock
    const made = Array.from({ length: 200 }, () => newId());
    assert.deepEqual([...made].sort(), made);
  });

  it('later milliseconds sort later; an explicit time long past is still a valid id with that time', () => {
    const a = newId(Date.now() + 5000);
    const b = newId(Date.now() + 6000);
    assert.ok(a < b);
    const old = newId(Date.parse('2020-01-01T00:00:00Z'));
    assert.ok(isId(old));
    assert.equal(parseInt(old.replace(/-/g, '').slice(0, 12), 16), Date.parse('2020-01-01T00:00:00Z'));
  });
});
