/**
 * Which broker and tenant to drive: given on the command line, or the demo salon of a
 * local `npm start` (it writes DATA_DIR/demo-credentials.json with the URL and tokens).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { demoCatalogBody } from './catalog.js';

export interface Target {
  url: string;
  token: string;
  tenant: string | undefined;
  adminToken: string | undefined;
  /** How the target was found, for the first line of output. */
  source: string;
}

export interface TargetOptions {
  url?: string | undefined;
  token?: string | undefined;
  tenant?: string | undefined;
  adminToken?: string | undefined;
  dataDir?: string | undefined;
  /** The catalog to load when `tenant` does not exist yet (default: the demo salon). */
  catalog?: unknown;
}

export class TargetError extends Error {}

const DEFAULT_URL = 'http://127.0.0.1:8080';

export async function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  if (!options.token && !(options.tenant && options.adminToken)) {
    const dataDir = options.dataDir ?? env.DATA_DIR ?? './data';
    const file = join(dataDir, 'demo-credentials.json');
    let demo: { url: string; tenant: string; admin_token: string; runtime_token: string };
    try {
      demo = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      throw new TargetError(
        `no --token (or --tenant with --admin-token) given and no ${file} to fall back on: start a local broker with \`npm start\` (it writes that file), or pass --url and --token`,
      );
    }
    return {
      url: options.url ?? demo.url,
      token: demo.runtime_token,
      tenant: options.tenant ?? demo.tenant,
      adminToken: options.adminToken ?? demo.admin_token,
      source: `the demo salon of the local broker (${file})`,
    };
  }
  const url = options.url ?? env.CALLHOLD_URL ?? DEFAULT_URL;
  if (options.token) return { url, token: options.token, tenant: options.tenant, adminToken: options.adminToken, source: `${url} with the given runtime token` };

  const tenant = options.tenant!;
  const adminToken = options.adminToken!;
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(new URL(path, url), {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  let created = await admin('POST', `/v1/admin/tenants/${encodeURIComponent(tenant)}/runtime-tokens`);
  if (created.status === 401 || created.status === 403) throw new TargetError(`the broker refused the admin token (HTTP ${created.status}): pass the broker's ADMIN_TOKEN as --admin-token`);
  let loaded = false;
  if (created.status === 404) {
    const put = await admin('PUT', `/v1/admin/tenants/${encodeURIComponent(tenant)}`, options.catalog ?? demoCatalogBody);
    if (put.status !== 200) throw new TargetError(`loading a catalog for the new tenant "${tenant}" failed: HTTP ${put.status} ${JSON.stringify(put.body)}`);
    loaded = true;
    created = await admin('POST', `/v1/admin/tenants/${encodeURIComponent(tenant)}/runtime-tokens`);
  }
  if (created.status !== 200 || typeof created.body?.token !== 'string') {
    throw new TargetError(`creating a runtime token for "${tenant}" failed: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  }
  return {
    url,
    token: created.body.token,
    tenant,
    adminToken,
    source: `${url}, tenant "${tenant}" (new runtime token${loaded ? '; the tenant did not exist and was loaded with the catalog' : ''})`,
  };
}
