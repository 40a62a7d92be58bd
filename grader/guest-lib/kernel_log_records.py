#!/usr/bin/python3
"""How many messages the kernel has logged since boot: the sequence number
of the newest record in /dev/kmsg, plus one (dmesg cannot tell: the ring
buffer forgets old messages). Used by kmod.bash's kernel_log_is_clean."""
import os


def main():
    fd, last = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK), -1
    while True:
        try:
            record = os.read(fd, 8192)
        except BlockingIOError:
            break
        except BrokenPipeError:   # records overwritten while reading: read on
            continue
        if not record:
            break
        last = int(record.split(b";", 1)[0].split(b",")[1])
    print(last + 1)


if __name__ == "__main__":
    main()
