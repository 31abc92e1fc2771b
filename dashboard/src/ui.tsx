import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { isPlanLimitText } from './api';
import { useAction } from './context';
import { href } from './router';
import type { Effect } from './types';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function ErrorNotice({ error, onRetry }: { error: string; onRetry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <p>
        {error}
        {isPlanLimitText(error) && (
          <>
            {' '}
            <a href={href('usage')}>See your plan and usage</a>
          </>
        )}
      </p>
      {onRetry && (
        <button type="button" class="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <div class="empty-body">{children}</div>}
    </div>
  );
}

export function Decision({ allowed }: { allowed: boolean }) {
  return <span class={`badge ${allowed ? 'badge-allow' : 'badge-deny'}`}>{allowed ? 'Allowed' : 'Denied'}</span>;
}

const EFFECT_BADGE: Record<Effect, string> = { allow: 'badge-allow', deny: 'badge-deny', require_approval: 'badge-pending' };

/** A rule's effect: allow, deny or require_approval. */
export function EffectBadge({ effect }: { effect: Effect }) {
  return <span class={`badge ${EFFECT_BADGE[effect] ?? 'badge-muted'}`}>{effect}</span>;
}

export function StatusBadge({ enabled }: { enabled: boolean }) {
  return <span class={`badge ${enabled ? 'badge-allow' : 'badge-muted'}`}>{enabled ? 'Enabled' : 'Disabled'}</span>;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API missing (insecure origin) or refused: fall back to a selected textarea.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <>
      <button type="button" class="btn btn-small" onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}>
        {state === 'copied' ? 'Copied' : label}
      </button>
      <span class="sr-only" role="status">
        {state === 'copied' ? 'Copied to the clipboard' : state === 'failed' ? 'Could not copy; select the text and copy it' : ''}
      </span>
    </>
  );
}

/** A freshly issued agent key: shown this once, with a copy button and a warning. */
export function NewKeyPanel(props: {
  title: string;
  apiKey: string;
  previousKeyExpiresAt?: string | null;
  onDone: () => void;
}) {
  return (
    <SecretPanel
      title={props.title}
      secret={props.apiKey}
      noun="key"
      why="OakAuth stores a hash of it and cannot show it again."
      testId="new-api-key"
      onDone={props.onDone}
    >
      {props.previousKeyExpiresAt && (
        <p class="muted">
          The previous key keeps working until {new Date(props.previousKeyExpiresAt).toLocaleString()}.
        </p>
      )}
    </SecretPanel>
  );
}

/**
 * A secret the API shows once (an agent key, a webhook signing secret): focused, with a copy button, a
 * warning that it cannot be shown again, and `children` for what else to know.
 */
export function SecretPanel(props: {
  title: string;
  secret: string;
  /** What the secret is called in the warning and the buttons: "key", "secret". */
  noun: string;
  /** Why it cannot be shown again. */
  why: string;
  testId: string;
  onDone: () => void;
  children?: ComponentChildren;
}) {
  const ref = useRef<HTMLElement>(null);
  const titleId = useId();
  useEffect(() => ref.current?.focus(), []);
  return (
    <section class="key-panel" aria-labelledby={titleId} tabIndex={-1} ref={ref}>
      <h3 id={titleId}>{props.title}</h3>
      <p class="warning">
        <strong>Copy this {props.noun} now.</strong> It is shown only once: {props.why}
      </p>
      <div class="key-row">
        <code class="key" data-testid={props.testId}>
          {props.secret}
        </code>
        <CopyButton text={props.secret} label={`Copy ${props.noun}`} />
      </div>
      {props.children}
      <button type="button" class="btn" onClick={props.onDone}>
        I have stored the {props.noun}
      </button>
    </section>
  );
}

/** A modal confirmation built on <dialog>: focus is trapped, Escape cancels. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  pending?: boolean;
  error?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div class="dialog-body">{props.children}</div>
      {props.error && <ErrorNotice error={props.error} />}
      <div class="actions">
        <button type="button" class="btn" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`}
          disabled={props.pending}
          onClick={props.onConfirm}
        >
          {props.pending ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

let firstPage = true;

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  // After navigating, move focus to the new page's heading so keyboard and screen-reader users know where they
  // are. Not on the first page after a load: there the browser's own start (the skip link) is better.
  useEffect(() => {
    if (firstPage) firstPage = false;
    else ref.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <div class="page-header">
      <h1 tabIndex={-1} ref={ref}>
        {title}
      </h1>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}

/** The last card of a page: what deleting removes, a button, and a confirmation before `remove()` runs. */
export function DeleteCard(props: {
  title: string;
  intro: ComponentChildren;
  /** The button that opens the confirmation. */
  button: string;
  dialogTitle: string;
  confirmLabel: string;
  /** The confirmation's text. */
  children: ComponentChildren;
  remove: () => Promise<unknown>;
  onDeleted: () => void;
}) {
  const action = useAction();
  const [open, setOpen] = useState(false);
  const titleId = useId();
  async function confirm() {
    const done = await action.run(async () => (await props.remove(), true));
    if (done) {
      setOpen(false);
      props.onDeleted();
    }
  }
  return (
    <section class="card danger" aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title}</h2>
      <p>{props.intro}</p>
      <button type="button" class="btn btn-danger" onClick={() => (action.setError(undefined), setOpen(true))}>
        {props.button}
      </button>
      <ConfirmDialog
        open={open}
        title={props.dialogTitle}
        confirmLabel={props.confirmLabel}
        danger
        pending={action.pending}
        error={action.error}
        onConfirm={confirm}
        onCancel={() => setOpen(false)}
      >
        {props.children}
      </ConfirmDialog>
    </section>
  );
}
