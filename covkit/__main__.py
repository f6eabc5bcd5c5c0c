from covkit.cli import main

main()
