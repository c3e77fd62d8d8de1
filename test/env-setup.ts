import { applyLocalServiceDefaults } from './local-services.js';

applyLocalServiceDefaults();
