"""`make audit`: pip-audit over the venv's installed packages, with an answer CI can act on.

pip-audit says "No known vulnerabilities found" (and exits 0) even when it could audit nothing,
e.g. when PyPI's per-release JSON is unreachable through a mirror. So this reads its JSON report:
exit 1 if any package has a known vulnerability; exit 3 if some could not be audited (the
advisory service was unreachable: say which, so nobody mistakes it for a clean bill); 0 only
when every package was audited and none is vulnerable."""
import json
import subprocess
import sys

VULNERABLE, NOT_AUDITED = 1, 3


def main() -> int:
    run = subprocess.run([sys.executable, "-m", "pip_audit", "--format", "json",
                          "--progress-spinner", "off"], capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"could not audit the dependencies: pip-audit failed ({run.returncode}):\n"
              f"{run.stderr.strip()}", file=sys.stderr)
        return NOT_AUDITED
    packages = report["dependencies"]
    vulnerable = [p for p in packages if p.get("vulns")]
    skipped = [p for p in packages if p.get("skip_reason")]
    for package in vulnerable:
        for vuln in package["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"{package['name']} {package['version']}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(f"{len(vulnerable)} package(s) with known vulnerabilities: raise their minimum "
              "versions in setup.cfg", file=sys.stderr)
        return VULNERABLE
    if skipped:
        print(f"could not audit {len(skipped)} of {len(packages)} packages: the advisory service "
              f"did not answer for them (first: {skipped[0]['skip_reason']}). No vulnerability "
              "was found, but this is NOT a clean audit.", file=sys.stderr)
        return NOT_AUDITED
    print(f"{len(packages)} packages audited: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
