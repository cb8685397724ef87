export * from './errors';
export * from './image';
export * from './mesh';
