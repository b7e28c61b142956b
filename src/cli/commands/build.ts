import { pending } from './pending.js';

export const command = pending('build', '#3');
