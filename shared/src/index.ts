export * from './api';
export * from './errors';
export * from './image';
export * from './mesh';
export * from './signing';
export * from './body';
export * from './limits';
export * from './url-policy';
