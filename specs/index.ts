export * from './common.ts';
export * from './privacy-request.ts';
export * from './vendor-connection.ts';
export * from './lethe-config.ts';
export * from './status.ts';
export * from './sealed.ts';
