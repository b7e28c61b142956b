import { pending } from './pending.js';

export const command = pending('events', '#4');
