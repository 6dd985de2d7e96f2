import { cassandraFixture, cassandraReachable } from '../helpers/stores.js';
import { storeContract } from './store-contract.js';

describe('store contract', () => {
  describe('cassandra', function () {
    before(async function () {
      this.timeout(20_000);
      if (!(await cassandraReachable())) {
        // The README's test command starts Cassandra first and sets SKYBUS_REQUIRE_CASSANDRA=1, so
        // there a missing node is a failure; a bare `mocha` run on a laptop without it skips.
        if (process.env.SKYBUS_REQUIRE_CASSANDRA === '1') throw new Error('Cassandra is not reachable but SKYBUS_REQUIRE_CASSANDRA=1');
        this.skip();
      }
    });
    storeContract(cassandraFixture);
  });
});
