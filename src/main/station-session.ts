import type { DemoAccountView, Me, ProductView, SessionView, SignInRequest } from '../protocol/index.js';
import { createAuthorityClient, AuthorityRequestError, type AuthorityClient } from '../batch/station-authority-client.js';
import { StationError } from '../protocol/station-api/refusals.js';

/**
 * The operator's session at this station: one signed-in account at a time, its credentials only in
 * memory. In demo mode the demo accounts can be chosen without typing their secrets.
 */
export interface DemoCredential extends DemoAccountView {
  clientId: string;
  secret: string;
}

export interface ActiveSession {
  account: Me;
  operator: string;
  client: AuthorityClient;
}

export interface SessionManager {
  view(): SessionView;
  current(): ActiveSession;
  signIn(req: SignInRequest): Promise<ActiveSession>;
  signOut(): void;
  /** Products this account may unbind, for scoping history (DESIGN §7). */
  products(): Promise<ProductView[]>;
}

export function createSessionManager(opts: { authorityUrl: string; stationId: string; demoAccounts: DemoCredential[]; demoWifi?: { ssid: string; password: string } | null }): SessionManager {
  let active: ActiveSession | null = null;
  const demo = opts.demoAccounts.length > 0;
  return {
    view: () => ({
      signedIn: active !== null,
      demo,
      stationId: opts.stationId,
      account: active ? { accountId: active.account.accountId, name: active.account.name, region: active.account.region, verifiedInstaller: active.account.verifiedInstaller === true } : null,
      operator: active?.operator ?? null,
      demoAccounts: opts.demoAccounts.map(({ accountId, name, role, region }) => ({ accountId, name, role, region })),
      demoWifi: opts.demoWifi ?? null,
    }),
    current() {
      if (!active) throw new StationError(401, 'SIGNED_OUT', 'sign in first');
      return active;
    },
    async signIn(req) {
      let creds: { clientId: string; secret: string };
      if ('demoAccountId' in req) {
        const d = opts.demoAccounts.find((a) => a.accountId === req.demoAccountId);
        if (!d) throw new StationError(404, 'ACCOUNT_UNKNOWN', `no demo account ${req.demoAccountId}`);
        creds = d;
      } else {
        creds = { clientId: req.clientId, secret: req.secret };
      }
      const client = createAuthorityClient({ url: opts.authorityUrl, ...creds });
      let account: Me;
      try {
        account = await client.me();
      } catch (err) {
        if (err instanceof AuthorityRequestError && err.status === 401) throw new StationError(401, 'SIGN_IN_REFUSED', 'the authority refused these credentials');
        // Any other refusal of the authority is passed on with its own code (502, see toRefusal).
        throw err;
      }
      active = { account, operator: req.operator, client };
      return active;
    },
    signOut() {
      active = null;
    },
    async products() {
      return active ? active.client.products() : [];
    },
  };
}
