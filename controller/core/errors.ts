import { defineErrors } from '../errors/types.ts';

/** Errors of the reconcile pass itself, beyond validation, git, HTTP and the drivers. */
export const coreErrors = defineErrors({
  CONFIG_INVALID: {
    message: 'lethe.yaml is missing or invalid ({problem}): the controller has no approval policy to apply',
    hint: 'Run lethe validate and fix lethe.yaml; until then nothing is sent to any vendor.',
    terminal: true,
  },
  DRIVER_ERROR: {
    message: 'unexpected error in a vendor driver',
    hint: 'Retried with backoff. If it persists, run with --log-level debug and report it; the message is withheld because it could quote vendor data.',
  },
  DRIVER_CONTRACT: {
    message: 'a driver returned a result that breaks the driver contract ({results} results for {tasks} tasks)',
    hint: 'A driver bug (wrong number of results for a batch). Report it; the task stays Stalled until the vendor config changes.',
    terminal: true,
  },
  CREDENTIAL_UNREADABLE: {
    message: 'a vendor credential could not be resolved',
    hint: "Check the env: or file: references in vendors/<name>.yaml and the controller's environment; the vendor waits, nothing is lost.",
  },
  RETRY_WINDOW_EXHAUSTED: {
    message: 'transient failures ({code}) went on for {hours} h, the whole retry window: the task stopped retrying',
    hint: 'The vendor kept failing (5xx, timeouts, malformed answers). Check the vendor status and the connection (baseUrl, proxy); editing the vendor connection or the request requeues the task. Raise lethe.yaml retryWindowHours to wait longer.',
    terminal: true,
  },
  LEASE_HELD: {
    message: 'another controller holds the {what} ({holder})',
    hint: 'Only one controller may act at a time. Stop the other one (the message names its pid and host), or start this one with --wait-for-lease to stand by and take over when the lease expires.',
  },
  LEASE_LOST: {
    message: 'this controller lost its lease and stopped acting: {reason}',
    hint: 'Another controller took over (or the lease could not be renewed in time): nothing more is sent or pushed by this one. Check that only one controller runs (Kubernetes: replicas 1, strategy Recreate) and that the remote is reachable.',
  },
  LEASE_UNREACHABLE: {
    message: 'cannot write the lease {ref}: {reason}',
    hint: 'Check that the controller can push to the remote (deploy key with write access; refs/lethe/* not blocked by branch protection rules).',
  },
  METRICS_LISTEN_FAILED: {
    message: 'cannot serve /metrics, /healthz and /readyz on {address} ({reason})',
    hint: 'Another process uses the port (often a second lethe run): stop it, or give --metrics-listen HOST:PORT another port (HOST:0 picks a free one).',
  },
  NOTIFY_FAILED: {
    message: 'notification target {target} answered {status}',
    hint: 'Check the webhook URL the reference points to (revoked Slack webhooks answer 403/404) and that the controller can reach it; the events are kept and sent with the next message.',
  },
  NOTIFY_URL_INVALID: {
    message: 'notification target {target}: the URL is not a valid URL',
    hint: 'The env: or file: reference of spec.notifications.targets[].url must hold a full URL such as https://hooks.slack.com/services/...',
  },
  NOTIFY_URL_INSECURE: {
    message: 'notification target {target}: the URL must use https',
    hint: 'Webhook URLs carry their own authorisation: use https (plain http is accepted for 127.0.0.1 and localhost only).',
  },
  CONTROLLER_ERROR: {
    message: 'the controller stopped on an unexpected error',
    hint: 'Run again with --log-level debug; the journal and rate log are intact.',
  },
});
