export { declaredPermissions, describePermissions, grantedBrokerPatterns, isGranted, PERMISSION_KINDS, permissionKind, planPermissions } from "./permissions.js";
export type { Permission, PermissionKind, PermissionPlan } from "./permissions.js";
