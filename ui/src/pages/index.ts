// Every page of the console, in navigation order, with the admin accesses that let a principal see it.
import type { FunctionComponent } from 'preact';
import type { Session } from '../api';
import { AlertsPage } from './alerts';
import { KeysPage } from './keys';
import { LedgerPage } from './ledger';
import { ModelsPage } from './models';
import { OverviewPage } from './overview';
import { ReviewsPage } from './reviews';
import { SessionsPage } from './sessions';
import { SourcingPage } from './sourcing';

export interface PageProps {
  session: Session;
  can: (access: string) => boolean;
}

export interface Page {
  id: string;
  title: string;
  /** Shown when the principal has any of these accesses. */
  needs: string[];
  component: FunctionComponent<PageProps>;
}

export const pages: Page[] = [
  { id: 'overview', title: 'Overview', needs: ['read'], component: OverviewPage },
  { id: 'keys', title: 'Budgets and keys', needs: ['read'], component: KeysPage },
  { id: 'alerts', title: 'Alerts', needs: ['read'], component: AlertsPage },
  { id: 'sessions', title: 'Agent sessions', needs: ['read'], component: SessionsPage },
  { id: 'models', title: 'Models', needs: ['read'], component: ModelsPage },
  { id: 'reviews', title: 'Reviews', needs: ['review-read'], component: ReviewsPage },
  { id: 'sourcing', title: 'Sourcing', needs: ['read'], component: SourcingPage },
  { id: 'ledger', title: 'Ledger', needs: ['read'], component: LedgerPage },
];
