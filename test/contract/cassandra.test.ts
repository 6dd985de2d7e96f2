import { cassandraFixture, requireCassandra } from '../helpers/stores.js';
import { storeContract } from './store-contract.js';

describe('store contract', () => {
  describe('cassandra', function () {
    requireCassandra();
    storeContract(cassandraFixture);
  });
});
