/** A starting point for a new tenant pack: monitor mode with the SQL-injection guard. */
export function packTemplate(name: string, tenant: string | null): string {
  if (tenant === null) {
    return `version = 1\nname = "${name}"\nkind = "baseline"\nmode = "monitor"\n\n[[binding]]\nid = "sqli"\nplugin = "sqli-guard"\nhooks = ["query"]\nconfig = {}\n`;
  }
  return `version = 1\nname = "${name}"\nkind = "tenant"\ntenant = "${tenant}"\nmode = "monitor"\n\n[[binding]]\nid = "${tenant}-sqli"\nplugin = "sqli-guard"\nhooks = ["query"]\nconfig = {}\n`;
}
