from smschat.cli import main

main()
