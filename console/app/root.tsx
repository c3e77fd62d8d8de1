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
  useRouteError,
} from '@remix-run/react';
import type { ReactNode } from 'react';
import stylesHref from './styles.css?url';
import { getSessionUser } from './lib/session.server.js';

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: stylesHref }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await getSessionUser(request, context);
  return json({ user: user ? { email: user.email, role: user.role } : null, sandbox: context.services.sandbox });
}

function Document({ children }: { children: ReactNode }) {
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
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

const NAV: { to: string; label: string; admin?: boolean }[] = [
  { to: '/workspaces', label: 'Workspaces' },
  { to: '/usage', label: 'Usage' },
  { to: '/reports', label: 'Reports' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/playground', label: 'Playground', admin: true },
  { to: '/evals', label: 'Evals' },
  { to: '/audit', label: 'Audit log' },
  { to: '/users', label: 'Users', admin: true },
];

export default function App() {
  const { user, sandbox } = useLoaderData<typeof loader>();
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
        <nav className="side">
          <div className="brand">
            PMF Scout<small>admin console</small>
          </div>
          {NAV.filter((n) => !n.admin || user.role === 'admin').map((n) => (
            <NavLink key={n.to} to={n.to} className={({ isActive }) => (isActive ? 'active' : '')}>
              {n.label}
            </NavLink>
          ))}
          <div className="who">
            <div>{user.email}</div>
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
