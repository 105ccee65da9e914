// Admin pages (role admin only): the users (add, change role and the pii grant, disable, reset a
// password), the bearer tokens for scripts (create, with the secret shown once; revoke) and the
// browser sessions (list, end). Everything goes through the /auth routes; the server refuses
// them to any other role.
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, ApiError, type FieldErrors } from "../api/client";
import { DataGrid, type GridColumn } from "../components/DataGrid";
import { Modal } from "../components/Modal";
import { Tabs } from "../components/Tabs";
import { useAuth, type Me } from "../lib/auth";
import { ErrorNote } from "../components/ErrorNote";

type Role = Me["role"];
const ROLES: Role[] = ["viewer", "analyst", "registrar", "admin"];
// The server's default pii grant per role (admin and registrar keep records).
export const defaultPii = (role: Role) => role === "admin" || role === "registrar";

export interface User {
  name: string;
  role: Role;
  pii: boolean;
  disabled: boolean;
  created_at: string;
}
export interface Token {
  id: number;
  name: string;
  role: Role;
  pii: boolean;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}
export interface Session {
  id: number;
  user: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  peer: string;
}

const TABS = [
  { key: "users", label: "Users" },
  { key: "tokens", label: "Tokens" },
  { key: "sessions", label: "Sessions" },
];

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "—");

// A list from the server, reloaded on demand; its error as text.
function useList<T>(path: string) {
  const [rows, setRows] = useState<T[]>([]);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    api
      .get<T[]>(path)
      .then((r) => {
        setRows(r);
        setError(null);
      })
      .catch((err: Error) => setError(err.message));
  }, [path]);
  useEffect(reload, [reload]);
  return { rows, error, reload };
}

function Message({ message }: { message: { text: string; error?: boolean } | null }) {
  if (!message) return null;
  return (
    <p className={message.error ? "form-error" : "note"} role={message.error ? "alert" : "status"}>
      {message.text}
    </p>
  );
}

function RoleSelect({ id, value, onChange, label }: { id: string; value: Role; onChange: (r: Role) => void; label?: string }) {
  return (
    <select id={id} aria-label={label} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

// What a new user and a new token both have: a name, a role, and the pii grant, which follows
// the role's default until it is set by hand.
function useAccountFields() {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [chosenPii, setPii] = useState<boolean | null>(null);
  const pii = chosenPii ?? defaultPii(role);
  const reset = () => {
    setName("");
    setPii(null);
  };
  return { name, setName, role, setRole, pii, setPii, reset };
}

function AccountFields({ id, fields, nameInvalid }: { id: string; fields: ReturnType<typeof useAccountFields>; nameInvalid?: boolean }) {
  return (
    <>
      <label>
        Name
        <input value={fields.name} onChange={(e) => fields.setName(e.target.value)} required aria-invalid={nameInvalid || undefined} />
      </label>
      <label>
        Role
        <RoleSelect id={`${id}-role`} value={fields.role} onChange={fields.setRole} />
      </label>
      <label>
        <input type="checkbox" checked={fields.pii} onChange={(e) => fields.setPii(e.target.checked)} />
        Sees personal data
      </label>
    </>
  );
}

export function AdminPage({ tab }: { tab: string }) {
  const { can } = useAuth();
  const active = TABS.some((t) => t.key === tab) ? tab : "users";
  if (!can("admin")) {
    return (
      <section>
        <h1>Admin</h1>
        <p>These pages are for admins only.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <Tabs items={TABS} active={active} base="/admin" label="Admin" />
      <div role="tabpanel" aria-labelledby={`tab-${active}`} className="tab-panel">
        {active === "users" && <UsersTab />}
        {active === "tokens" && <TokensTab />}
        {active === "sessions" && <SessionsTab />}
      </div>
    </section>
  );
}

export function UsersTab() {
  const users = useList<User>("/auth/users");
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);

  const change = async (user: User, body: Partial<Pick<User, "role" | "pii" | "disabled">> & { password?: string }, done: string) => {
    try {
      await api.patch(`/auth/users/${encodeURIComponent(user.name)}`, body);
      setMessage({ text: done });
      users.reload();
      return true;
    } catch (err) {
      setMessage({ text: (err as Error).message, error: true });
      return false;
    }
  };

  const columns: GridColumn<User>[] = [
    { key: "name", label: "User" },
    {
      key: "role",
      label: "Role",
      render: (u) => <RoleSelect id={`role-${u.name}`} label={`Role of ${u.name}`} value={u.role} onChange={(role) => change(u, { role }, `${u.name} is now ${role}.`)} />,
    },
    {
      key: "pii",
      label: "Personal data",
      render: (u) => (
        <input
          type="checkbox"
          aria-label={`Personal data for ${u.name}`}
          checked={u.pii}
          onChange={(e) => change(u, { pii: e.target.checked }, `${u.name} ${e.target.checked ? "sees" : "no longer sees"} personal data.`)}
        />
      ),
    },
    { key: "disabled", label: "State", render: (u) => (u.disabled ? <span className="badge deleted">disabled</span> : <span className="badge">active</span>) },
    { key: "created_at", label: "Created", render: (u) => when(u.created_at) },
  ];

  return (
    <div>
      <AddUserForm onAdded={(name) => { setMessage({ text: `Added ${name}.` }); users.reload(); }} />
      <Message message={message} />
      <ErrorNote message={users.error} />
      <DataGrid
        label="Users"
        columns={columns}
        rows={users.rows}
        rowKey={(u) => u.name}
        actions={(u) => (
          <span className="row-actions">
            <button type="button" onClick={() => change(u, { disabled: !u.disabled }, `${u.name} ${u.disabled ? "enabled" : "disabled; their sessions are ended"}.`)} aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.name}`}>
              {u.disabled ? "Enable" : "Disable"}
            </button>
            <button type="button" onClick={() => setResetting(u)} aria-label={`Reset password of ${u.name}`}>
              Reset password
            </button>
          </span>
        )}
      />
      {resetting && (
        <Modal title={`New password for ${resetting.name}`} onClose={() => setResetting(null)}>
          <PasswordForm
            onCancel={() => setResetting(null)}
            onSubmit={async (password) => {
              if (await change(resetting, { password }, `New password set for ${resetting.name}; their sessions are ended.`)) setResetting(null);
            }}
          />
        </Modal>
      )}
    </div>
  );
}

function PasswordForm({ onSubmit, onCancel }: { onSubmit: (password: string) => Promise<void>; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit(password);
      }}
    >
      <div className="field">
        <label htmlFor="reset-password">New password (at least 10 characters)</label>
        <input id="reset-password" type="password" autoComplete="new-password" minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} required />
      </div>
      <div className="form-actions">
        <button type="submit" className="primary">
          Set password
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AddUserForm({ onAdded }: { onAdded: (name: string) => void }) {
  const fields = useAccountFields();
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setError(null);
    try {
      await api.post("/auth/users", { name: fields.name, role: fields.role, pii: fields.pii, password });
      onAdded(fields.name);
      fields.reset();
      setPassword("");
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fieldErrors);
      setError((err as Error).message);
    }
  };

  return (
    <form className="card inline-form admin-form" onSubmit={submit} aria-label="Add a user">
      <strong>Add a user</strong>
      <AccountFields id="new-user" fields={fields} nameInvalid={!!errors.name} />
      <label>
        Password
        <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required aria-invalid={!!errors.password} />
      </label>
      <button type="submit" className="primary">
        Add user
      </button>
      {error && (
        <span className="field-error" role="alert">
          {error}
          {Object.entries(errors).map(([f, m]) => ` · ${f}: ${m}`)}
        </span>
      )}
    </form>
  );
}

export function TokensTab() {
  const tokens = useList<Token>("/auth/tokens");
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const fields = useAccountFields();
  const [days, setDays] = useState("");

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    setCreated(null);
    try {
      const body: Record<string, unknown> = { name: fields.name, role: fields.role, pii: fields.pii };
      if (days) body.expires_in_days = Number(days);
      const t = await api.post<Token & { token: string }>("/auth/tokens", body);
      setCreated({ name: t.name, token: t.token });
      fields.reset();
      setDays("");
      tokens.reload();
    } catch (err) {
      setMessage({ text: (err as Error).message, error: true });
    }
  };

  const revoke = async (t: Token) => {
    try {
      await api.del(`/auth/tokens/${t.id}`);
      setMessage({ text: `Revoked ${t.name}: it is refused from now on.` });
      setCreated(null);
      tokens.reload();
    } catch (err) {
      setMessage({ text: (err as Error).message, error: true });
    }
  };

  const columns: GridColumn<Token>[] = [
    { key: "name", label: "Token" },
    { key: "role", label: "Role" },
    { key: "pii", label: "Personal data", render: (t) => (t.pii ? "yes" : "no") },
    { key: "created_by", label: "Created by" },
    { key: "created_at", label: "Created", render: (t) => when(t.created_at) },
    { key: "expires_at", label: "Expires", render: (t) => (t.expires_at ? when(t.expires_at) : "never") },
    { key: "last_used_at", label: "Last used", render: (t) => when(t.last_used_at) },
  ];

  return (
    <div>
      <form className="card inline-form admin-form" onSubmit={create} aria-label="Create a token">
        <strong>Create a token</strong>
        <AccountFields id="new-token" fields={fields} />
        <label>
          Expires in (days)
          <input type="number" min={1} max={3650} value={days} placeholder="never" onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      {created && (
        <div className="card secret" role="status" aria-label="New token">
          <p>
            Token <strong>{created.name}</strong> created. Copy it now: it is not shown again.
          </p>
          <code className="secret-value">{created.token}</code>
          <p className="muted small">
            Scripts send it as <code>Authorization: Bearer …</code>.
          </p>
        </div>
      )}
      <Message message={message} />
      <ErrorNote message={tokens.error} />
      <DataGrid
        label="Tokens"
        columns={columns}
        rows={tokens.rows}
        rowKey={(t) => String(t.id)}
        empty="No live tokens."
        actions={(t) => (
          <button type="button" className="danger" onClick={() => revoke(t)} aria-label={`Revoke token ${t.name}`}>
            Revoke
          </button>
        )}
      />
    </div>
  );
}

export function SessionsTab() {
  const sessions = useList<Session>("/auth/sessions");
  const [message, setMessage] = useState<{ text: string; error?: boolean } | null>(null);
  const end = async (s: Session) => {
    try {
      await api.del(`/auth/sessions/${s.id}`);
      setMessage({ text: `Ended session ${s.id} of ${s.user}.` });
      sessions.reload();
    } catch (err) {
      setMessage({ text: (err as Error).message, error: true });
    }
  };
  const columns: GridColumn<Session>[] = [
    { key: "user", label: "User" },
    { key: "created_at", label: "Signed in", render: (s) => when(s.created_at) },
    { key: "last_seen_at", label: "Last seen", render: (s) => when(s.last_seen_at) },
    { key: "expires_at", label: "Ends at the latest", render: (s) => when(s.expires_at) },
    { key: "peer", label: "From" },
  ];
  return (
    <div>
      <Message message={message} />
      <ErrorNote message={sessions.error} />
      <DataGrid
        label="Sessions"
        columns={columns}
        rows={sessions.rows}
        rowKey={(s) => String(s.id)}
        empty="Nobody is signed in."
        actions={(s) => (
          <button type="button" className="danger" onClick={() => end(s)} aria-label={`End session ${s.id} of ${s.user}`}>
            End
          </button>
        )}
      />
    </div>
  );
}
