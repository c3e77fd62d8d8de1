import type { LinksFunction, LoaderFunctionArgs } from '@remix-run/node';
import { json } from '@remix-run/node';
import {
  Form,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  isRouteErrorResponse,
  useLoaderData,
  useLocation,
  useRouteError,
} from '@remix-run/react';
import { useEffect, useRef, type ReactNode } from 'react';
import stylesHref from './styles.css?url';
import { useNonce } from './nonce.js';
import { getSessionUser } from './lib/session.server.js';

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: stylesHref }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getSessionUser(request, context);
  return json({ user: user ? { email: user.email, role: user.role } : null, sandbox: context.services.sandbox });
}

function Document({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>PMF Scout console</title>
        <link rel="icon" href="data:," />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

// Every page is readable by viewers; the forms that change things are rendered for admins only.
const NAV: { to: string; label: string }[] = [
  { to: '/workspaces', label: 'Workspaces' },
  { to: '/usage', label: 'Usage' },
  { to: '/transactions', label: 'Transactions' },
  { to: '/reports', label: 'Reports' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/playground', label: 'Playground' },
  { to: '/evals', label: 'Evals' },
  { to: '/audit', label: 'Audit log' },
  { to: '/users', label: 'Users' },
];

export default function App() {
  const { user, sandbox } = useLoaderData<typeof loader>();
  const menu = useRef<HTMLInputElement>(null);
  const location = useLocation();
  // Following a menu link closes the menu.
  useEffect(() => {
    if (menu.current) menu.current.checked = false;
  }, [location.pathname]);
  if (!user) {
    return (
      <Document>
        <Outlet />
      </Document>
    );
  }
  return (
    <Document>
      <div className="shell">
        {/* Below 800 px the sidebar folds behind this button: a checkbox and its label, so it works without JavaScript. */}
        <header className="topbar">
          <span>PMF Scout</span>
          <label htmlFor="menu-toggle" aria-label="Menu">
            Menu
          </label>
        </header>
        <input type="checkbox" id="menu-toggle" className="menu-toggle" ref={menu} aria-hidden="true" tabIndex={-1} />
        <nav className="side">
          <div className="brand">
            PMF Scout<small>admin console</small>
          </div>
          {NAV.map((n) => (
            <NavLink key={n.to} to={n.to} className={({ isActive }) => (isActive ? 'active' : '')}>
              {n.label}
            </NavLink>
          ))}
          <div className="who">
            <div>{user.email}</div>
            <NavLink to="/account/password" className="small">
              Your password
            </NavLink>
            <span className={`badge ${user.role === 'admin' ? 'info' : ''}`}>{user.role}</span>
            <Form method="post" action="/logout">
              <button type="submit" className="link">
                Log out
              </button>
            </Form>
          </div>
        </nav>
        <main className="main">
          {sandbox ? (
            <div className="banner">
              Sandbox mode: research runs on the built-in sandbox providers — sources and analysis are not real.
            </div>
          ) : null}
          <Outlet />
        </main>
      </div>
    </Document>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error)
    ? ((error.data as { error?: string } | null)?.error ?? error.statusText)
    : 'Something went wrong.';
  return (
    <Document>
      <div className="login card">
        <h1>{status}</h1>
        <p>{message}</p>
        <a href="/">Back to the console</a>
      </div>
    </Document>
  );
}
