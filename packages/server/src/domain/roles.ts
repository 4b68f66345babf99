/** The built-in roles. Roles are granted to groups; a user holds those of its groups and its profile's. */
export const SYSTEM_ADMINISTRATOR = "system-administrator";
export const SECURITY_ADMINISTRATOR = "security-administrator";
export const USER = "user";

/** Who may administer users, groups, role mappings, directories and identity providers. */
export const ADMINISTRATOR_ROLES = [SYSTEM_ADMINISTRATOR, SECURITY_ADMINISTRATOR] as const;

export const BUILTIN_ROLES = [
  { name: SYSTEM_ADMINISTRATOR, description: "Full control of the ECM Security service" },
  { name: SECURITY_ADMINISTRATOR, description: "Manages users, groups, role mappings, directories and identity providers" },
  { name: USER, description: "Own account only" },
] as const;

export const ADMINISTRATORS_GROUP = "administrators";
export const USERS_GROUP = "users";

export const BUILTIN_GROUPS = [
  { name: ADMINISTRATORS_GROUP, description: "Built-in group of the administrators", roles: [SYSTEM_ADMINISTRATOR, SECURITY_ADMINISTRATOR, USER] },
  { name: USERS_GROUP, description: "Built-in group every user joins", roles: [USER] },
] as const;

export const BUILTIN_ADMIN_USERNAME = "sysadmin";
