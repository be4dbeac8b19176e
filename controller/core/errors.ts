import { defineErrors } from '../errors/types.ts';

/** Errors of the reconcile pass itself, beyond validation, git, HTTP and the drivers. */
export const coreErrors = defineErrors({
  CONFIG_INVALID: {
    message: 'lethe.yaml is missing or invalid: the controller has no approval policy to apply',
    hint: 'Run lethe validate and fix lethe.yaml; until then nothing is sent to any vendor.',
    terminal: true,
  },
  DRIVER_ERROR: {
    message: 'unexpected error in a vendor driver',
    hint: 'Retried with backoff. If it persists, run with --log-level debug and report it; the message is withheld because it could quote vendor data.',
  },
  DRIVER_CONTRACT: {
    message: 'a driver returned a result that breaks the driver contract',
    hint: 'A driver bug (wrong number of results for a batch). Report it; the task stays Stalled until the vendor config changes.',
    terminal: true,
  },
  CREDENTIAL_UNREADABLE: {
    message: 'a vendor credential could not be resolved',
    hint: 'Check the env: or file: references in vendors/<name>.yaml and the controller\'s environment; the vendor waits, nothing is lost.',
  },
  CONTROLLER_ERROR: {
    message: 'the controller stopped on an unexpected error',
    hint: 'Run again with --log-level debug; the journal and rate log are intact.',
  },
});
