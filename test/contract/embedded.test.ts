import { embeddedFixture } from '../helpers/stores.js';
import { storeContract } from './store-contract.js';

describe('store contract', () => {
  describe('embedded', () => storeContract(embeddedFixture));
});
