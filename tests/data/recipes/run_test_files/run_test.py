import subprocess, sys
subprocess.check_call([sys.executable, "-m", "pytest", "tests"])
