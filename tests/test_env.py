"""vm/env.sh without the network: which cached environment it uses, and
what an import accepts and refuses. A fake environment (env.conf, a
kernel/vmlinux, a root/ with usr/ and etc/) stands in for a real one.
"""
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV_SH = os.path.join(ROOT, "vm", "env.sh")


def recipe():
    """The recipe line env.sh writes (its RECIPE_VERSION, suite, packages)."""
    out = subprocess.run(["bash", "-c", f'source <(sed -n "/^PACKAGES=/,/^RECIPE_VERSION=/p" {ENV_SH}); '
                          'printf "%s bookworm %s" "$RECIPE_VERSION" "${PACKAGES[*]}"'],
                         stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout


def fake_env(folder, kver, source="debootstrap http://deb.debian.org/debian", suite="bookworm",
             kernel="6.1"):
    os.makedirs(os.path.join(folder, "kernel"))
    for sub in ("root/usr/bin", "root/etc"):
        os.makedirs(os.path.join(folder, sub))
    with open(os.path.join(folder, "kernel", "vmlinux"), "w") as f:
        f.write("not really a kernel\n")
    with open(os.path.join(folder, "env.conf"), "w") as f:
        f.write(f"SUITE={suite}\nKERNEL={kernel}\nKVER={kver}\nRECIPE={recipe()}\n"
                f"SOURCE={source}\nMADE=2026-12-01T00:00:00Z\n")


def image_of(folder, path):
    """A .tar.zst of folder, as make image writes one; returns its sha256."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name in ("env.conf", "kernel", "root"):
            tar.add(os.path.join(folder, name), name)
    subprocess.run(["zstd", "-q", "-o", path, "-f"], input=data.getvalue(), check=True)
    out = subprocess.run(["sha256sum", path], stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout.split()[0]


@unittest.skipUnless(shutil.which("zstd"), "zstd is installed by make deps")
class EnvTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kmod-env-test-")
        self.cache = os.path.join(self.tmp, "cache")
        self.conf = os.path.join(self.tmp, "course.conf")
        self.write_conf()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write_conf(self, **values):
        conf = {"COURSE_DEBIAN_SUITE": "bookworm", "COURSE_KERNEL": "6.1", **values}
        with open(self.conf, "w") as f:
            f.write("".join(f"{k}={v}\n" for k, v in conf.items()))

    def env_sh(self, *args):
        # No mirror reachable: a test that would debootstrap fails at once.
        env = dict(os.environ, KMOD_CACHE=self.cache, KMOD_COURSE_CONF=self.conf,
                   KMOD_DEBIAN_MIRROR="http://127.0.0.1:9/debian")
        return subprocess.run(["bash", ENV_SH, *args], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)

    def test_a_cached_environment_is_kept_whatever_the_archive_has_now(self):
        # The archive's 6.1 is newer by now: the cache made from 6.1.0-56 still grades.
        fake_env(os.path.join(self.cache, "env", "bookworm-6.1"), "6.1.0-56-amd64")
        proc = self.env_sh("dir")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), os.path.join(self.cache, "env", "bookworm-6.1"))
        self.assertIn("KVER=6.1.0-56-amd64", self.env_sh("show").stdout)

    def test_another_kernel_series_is_another_environment(self):
        fake_env(os.path.join(self.cache, "env", "bookworm-6.1"), "6.1.0-56-amd64")
        fake_env(os.path.join(self.cache, "env", "bookworm-6.12"), "6.12.117+deb12-amd64",
                 kernel="6.12")
        self.write_conf(COURSE_KERNEL="6.12")
        proc = self.env_sh("dir")
        self.assertEqual(proc.stdout.strip(), os.path.join(self.cache, "env", "bookworm-6.12"))

    def test_a_pinned_image_sha_refuses_an_environment_made_otherwise(self):
        fake_env(os.path.join(self.cache, "env", "bookworm-6.1"), "6.1.0-56-amd64")
        self.write_conf(COURSE_IMAGE_SHA256="ab" * 32)
        proc = self.env_sh("dir")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("names no COURSE_IMAGE", proc.stderr)

    def test_import_checks_the_sha256_and_installs(self):
        made = os.path.join(self.tmp, "made")
        fake_env(made, "6.1.0-57-amd64")
        image = os.path.join(self.tmp, "course-env.tar.zst")
        sha = image_of(made, image)
        self.write_conf(COURSE_IMAGE="course-env.tar.zst", COURSE_IMAGE_SHA256=sha)
        proc = self.env_sh("dir")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(proc.stdout.strip(), "env.conf")) as f:
            conf = f.read()
        self.assertIn(f"SOURCE=image sha256:{sha}\n", conf)
        self.assertIn("KVER=6.1.0-57-amd64\n", conf)

    def test_import_refuses_another_sha256_and_keeps_the_cache(self):
        fake_env(os.path.join(self.cache, "env", "bookworm-6.1"), "6.1.0-56-amd64")
        made = os.path.join(self.tmp, "made")
        fake_env(made, "6.1.0-57-amd64")
        image = os.path.join(self.tmp, "course-env.tar.zst")
        image_of(made, image)
        self.write_conf(COURSE_IMAGE_SHA256="00" * 32)
        proc = self.env_sh("import", image)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("not imported", proc.stderr)
        with open(os.path.join(self.cache, "env", "bookworm-6.1", "env.conf")) as f:
            self.assertIn("KVER=6.1.0-56-amd64", f.read())

    def test_import_refuses_what_is_not_an_environment(self):
        junk = os.path.join(self.tmp, "junk")
        os.makedirs(os.path.join(junk, "root"))
        with open(os.path.join(junk, "env.conf"), "w") as f:
            f.write("SUITE=bookworm\nKERNEL=6.1\n")
        os.makedirs(os.path.join(junk, "kernel"))
        image = os.path.join(self.tmp, "junk.tar.zst")
        image_of(junk, image)
        proc = self.env_sh("import", image)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("is not a course environment image", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.cache, "env", "bookworm-6.1")))



# Package names as the bookworm archive listed them on 2026-12-02: 6.12.118's
# headers and unsigned image were out, its signed image not yet.
ARCHIVE_NAMES = """linux-headers-6.1.0-57-amd64
linux-headers-6.1.0-57-cloud-amd64
linux-headers-6.1.0-57-rt-amd64
linux-image-6.1.0-57-amd64
linux-image-6.1.0-57-amd64-unsigned
linux-headers-6.12.117+deb12-amd64
linux-image-6.12.117+deb12-amd64
linux-headers-6.12.118+deb12-amd64
linux-headers-6.12.118+deb12-cloud-amd64
linux-image-6.12.118+deb12-amd64-dbg
linux-image-6.12.118+deb12-amd64-unsigned
linux-image-6.12.118+deb12-cloud-amd64-unsigned
linux-headers-6.12.119+deb12-amd64
"""


class PickKernelTest(unittest.TestCase):
    """Which release and image package a COURSE_KERNEL names in an archive."""

    def pick(self, spec, names=ARCHIVE_NAMES):
        proc = subprocess.run(["bash", ENV_SH, "pick-kernel", spec], input=names,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, KMOD_CACHE=tempfile.gettempdir()), timeout=30)
        return proc.returncode, proc.stdout.strip(), proc.stderr

    def test_a_series_is_its_newest_generic_release_with_the_signed_image(self):
        self.assertEqual(self.pick("6.1")[1], "6.1.0-57-amd64 linux-image-6.1.0-57-amd64")

    def test_the_unsigned_image_stands_in_while_the_signed_one_is_not_published(self):
        # 6.12.119 has headers only and is passed over; 6.12.118 has no signed image.
        self.assertEqual(self.pick("6.12")[1],
                         "6.12.118+deb12-amd64 linux-image-6.12.118+deb12-amd64-unsigned")

    def test_a_release_is_taken_as_it_is(self):
        self.assertEqual(self.pick("6.12.117+deb12-amd64")[1],
                         "6.12.117+deb12-amd64 linux-image-6.12.117+deb12-amd64")

    def test_a_release_the_archive_has_no_image_of_is_refused(self):
        rc, out, err = self.pick("6.12.119+deb12-amd64")
        self.assertNotEqual(rc, 0)
        self.assertEqual(out, "")
        self.assertIn("has no image of Linux 6.12.119+deb12-amd64", err)

    def test_a_series_not_in_the_archive_is_refused(self):
        rc, _, err = self.pick("5.10")
        self.assertNotEqual(rc, 0)
        self.assertIn("no Linux 5.10 for amd64", err)

    def test_what_is_neither_a_series_nor_a_release_is_refused(self):
        rc, _, err = self.pick("latest")
        self.assertNotEqual(rc, 0)
        self.assertIn("is a series like 6.1", err)


if __name__ == "__main__":
    unittest.main()
