/**
 * npm run keys -- create [--name n] [--plan p] [--quota 1000] [--rate 60] [--remote --env production]
 * npm run keys -- revoke <key id> [--remote --env production]
 * npm run keys -- list [--remote --env production]
 * [--persist-to <dir>]: the local D1 of a `wrangler dev --persist-to <dir>` (tests, parallel stacks).
 * Keys live in D1 as SHA-256 hashes; the key itself is printed once, at creation. Without --remote
 * this works on the local D1 of `wrangler dev` (no Cloudflare account).
 */
import { parseArgs } from 'node:util';
import { createApiKey, listApiKeys, migrateD1, revokeApiKey } from './keys-lib';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string', default: 'development' },
    plan: { type: 'string', default: 'dev' },
    quota: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '60' },
    remote: { type: 'boolean', default: false },
    env: { type: 'string' },
    'persist-to': { type: 'string' },
  },
});
const [command, arg] = positionals;
const where = [values.remote ? '--remote' : '--local', ...(values.env ? ['--env', values.env] : []), ...(values['persist-to'] && !values.remote ? ['--persist-to', values['persist-to']] : [])];

if (command === 'create') {
  migrateD1(where);
  const { id, key } = createApiKey(where, { name: values.name!, plan: values.plan!, quota: Number(values.quota), rate: Number(values.rate) });
  console.log(`created ${id} (${values.plan}, ${values.quota}/month, ${values.rate}/min)\nAPI key (shown once): ${key}`);
} else if (command === 'revoke' && arg) {
  if (!revokeApiKey(where, arg)) {
    console.error(`no key with id ${arg}`);
    process.exit(1);
  }
  console.log(`revoked ${arg}`);
} else if (command === 'list') {
  console.table(listApiKeys(where));
} else {
  console.error('usage: npm run keys -- create [--name n] [--plan p] [--quota n] [--rate n] | revoke <id> | list   [--remote --env production]');
  process.exit(1);
}
