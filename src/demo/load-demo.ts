/**
 * The demo salon `npm start` serves on the embedded database: loaded once, with a fresh
 * runtime token each start, and both tokens written to `DATA_DIR/demo-credentials.json`
 * so `npm run simulate` can drive it with no options.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Broker } from '../broker.js';
import { catalogSchema, toCatalog } from '../protocol/catalog.js';
import demoCatalog from './salon-sonnenschein.json' with { type: 'json' };

export const DEMO_TENANT = 'demo';

export interface DemoCredentials {
  url: string;
  tenant: string;
  admin_token: string;
  runtime_token: string;
}

export async function loadDemo(broker: Broker, options: { url: string; adminToken: string; dataDir: string }): Promise<DemoCredentials> {
  if (!(await broker.catalogAdmin.exists(DEMO_TENANT))) {
    const { catalog, customers } = toCatalog(DEMO_TENANT, catalogSchema.parse(demoCatalog));
    await broker.catalogAdmin.put(catalog, customers);
  }
  const runtimeToken = await broker.runtimeAuth.issue(DEMO_TENANT);
  const credentials = { url: options.url, tenant: DEMO_TENANT, admin_token: options.adminToken, runtime_token: runtimeToken };
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(join(options.dataDir, 'demo-credentials.json'), `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}
