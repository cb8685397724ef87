export * from './errors';
export * from './image';
